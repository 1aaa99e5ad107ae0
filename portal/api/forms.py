"""The "API access" page's form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from portal.api.models import TokenScope
from portal.api.tokens import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, NAME_MAX


def scope_choices():
    return [SelectChoice(TokenScope.READ, _l("Read only: list and read claims, run checks")),
            SelectChoice(TokenScope.WRITE, _l("Read and write"))]


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Give the token a name.")), Length(max=NAME_MAX)],
                       description=_l("What the token is for, such as the name of the system that uses it."))
    scope = SelectField(_l("Access"), choices=scope_choices, default=TokenScope.READ,
                        validators=[InputRequired(message=_l("Choose what the token may do."))])
    days = IntegerField(
        _l("Expires after (days)"), default=DEFAULT_DAYS,
        validators=[InputRequired(message=_l("Enter a number of days.")),
                    NumberRange(min=MIN_DAYS, max=MAX_DAYS,
                                message=_l("A token lasts from %(min)s to %(max)s days.", min=MIN_DAYS, max=MAX_DAYS))],
        description=_l("From %(min)s to %(max)s days.", min=MIN_DAYS, max=MAX_DAYS),
    )
