"""Imports every model so that metadata is complete for Alembic and create_all()."""
from portal.accounts.models import AccountKind, Mpn, MpnEvent, Organization, User  # noqa: F401
from portal.claims.models import Claim, ClaimEvent, ClaimFile, Comment  # noqa: F401
from portal.directory.models import Product, Subscription, Tenant, TenantDomain  # noqa: F401
from portal.notifications.models import Notification, NotificationEvent, OutgoingEmail  # noqa: F401
from portal.api.models import ApiToken, IdempotencyKey  # noqa: F401
