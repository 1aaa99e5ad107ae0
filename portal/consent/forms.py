"""What the customer's answer takes: confirm or decline, and an optional message. The service
checks the rules; CSRFProtect guards the POST."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField


class ConsentForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect already checks every POST

    answer = StringField()
    message = TextAreaField()

    @property
    def choice(self) -> bool | None:
        """True to confirm, False to decline, None when neither was chosen."""
        return {"confirm": True, "decline": False}.get(self.answer.data)
