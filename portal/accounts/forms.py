from portal.i18n import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from portal.accounts.emails import InvalidEmail, canonical_email
from portal.accounts.permissions import ASSIGNABLE_ROLES


def email_address(form, field):
    """The portal's one rule for addresses (``portal/accounts/emails.py``), the directory
    import's too: what one accepts, the other does."""
    try:
        canonical_email(field.data or "")
    except InvalidEmail:
        raise ValidationError(field.gettext("Invalid email address.")) from None


def role_label(role: str) -> str:
    labels = {
        "global_admin": _l("Global admin"),
        "incentives_admin": _l("Incentives admin"),
        "billing_admin": _l("Billing admin"),
        "referrals_admin": _l("Referrals admin (no access to associations)"),
        "sales_agent": _l("Sales agent (no access to associations)"),
        "account_admin": _l("Account admin (no access to associations)"),
        "marketing_admin": _l("Marketing admin (no access to associations)"),
    }
    return labels.get(role, role)


def role_choices():
    return [SelectChoice(role, role_label(role)) for role in ASSIGNABLE_ROLES]


LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("fr", "Français")]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), email_address])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    next = HiddenField()


def new_user_role_choices():
    """No role pre-selected for a new user: the admin picks one (never Global admin by default)."""
    return [SelectChoice("", _l("Choose a role"))] + role_choices()


class AddUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[InputRequired(), email_address, Length(max=254)])
    role = SelectField(_l("Role"), choices=new_user_role_choices, default="",
                       validators=[InputRequired(message=_l("Choose the user's role."))])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="en")
    password = PasswordField(
        _l("Temporary password"),
        validators=[InputRequired(), Length(min=12, max=128)],
        description=_l("At least 12 characters. Give it to the user by a separate channel."),
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices, validators=[InputRequired()])


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validators=[InputRequired()])
    next = HiddenField()
