"""What the claims package announces, for the packages that react to it (notifications,
customer consent) without the claims package importing them. Receivers run inside the
transaction of what caused them, so what they write commits or rolls back with it."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A claim changed status: ``send(claim, event=ClaimEvent, actor=User | None)``.
claim_moved = _signals.signal("claim-moved")

#: A comment was added to a claim's thread: ``send(claim, comment=Comment, actor=User)``.
comment_posted = _signals.signal("comment-posted")
