"""Forms of the reviewer console: the queue filters (GET) and one form per decision. The
lifecycle checks every rule again; these give the reviewer the message beside the field."""
from __future__ import annotations

from portal.i18n import lazy_gettext as _l
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget, Select

from portal.claims.base import REVIEWER_REJECTION_REASONS
from portal.claims.comments import MAX_LENGTH
from portal.claims.labels import INFORMATION_REASONS, REJECTION_REASONS, area_label, status_label
from portal.directory.models import SolutionArea
from portal.review.services import FILTER_STATUSES, QueueFilters


def _per_locale(make):
    """``make``'s choices, built and translated once per process and locale (they never change
    while the process runs; the queue's filters are rendered on every queue page)."""
    built: dict[str, list[SelectChoice]] = {}

    def choices():
        locale = str(get_locale())
        found = built.get(locale)
        if found is None:
            found = built[locale] = [SelectChoice(c.value, str(c.label)) for c in make()]
        return found

    return choices


@_per_locale
def _status_choices():
    return [SelectChoice("", _l("Waiting for a decision"))] + [SelectChoice(s.value, status_label(s)) for s in FILTER_STATUSES]


@_per_locale
def _area_choices():
    return [SelectChoice("", _l("All solution areas"))] + [SelectChoice(a.value, area_label(a)) for a in SolutionArea]


@_per_locale
def _arbitration_choices():
    return [
        SelectChoice("", _l("With or without arbitration")),
        SelectChoice("yes", _l("In arbitration")),
        SelectChoice("no", _l("Not in arbitration")),
    ]


@_per_locale
def _assigned_choices():
    return [
        SelectChoice("", _l("Any reviewer or none")),
        SelectChoice("mine", _l("Me")),
        SelectChoice("unassigned", _l("No reviewer yet")),
    ]


class RememberedSelect(Select):
    """WTForms' select, its HTML remembered per process by everything it depends on (the
    field's name, id, value and attributes, and the locale of its translated choices): for
    fields whose choices are fixed per locale."""

    _rendered: dict[tuple, str] = {}
    _MAX = 4096

    def __call__(self, field, **kwargs):
        key = (field.name, field.id, field.data, str(get_locale()), tuple(sorted(kwargs.items())),
               bool(field.flags.required))
        html = self._rendered.get(key)
        if html is None:
            html = super().__call__(field, **kwargs)
            if len(self._rendered) < self._MAX:
                self._rendered[key] = html
        return html


class QueueFilterForm(FlaskForm):
    """The queue's filters, read from the query string so the URL says what is shown."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=_status_choices, default="", widget=RememberedSelect())
    solution_area = SelectField(_l("Solution area"), choices=_area_choices, default="", widget=RememberedSelect())
    arbitration = SelectField(_l("Arbitration"), choices=_arbitration_choices, default="", widget=RememberedSelect())
    assigned = SelectField(_l("Held by"), choices=_assigned_choices, default="", widget=RememberedSelect())

    def clean(self) -> None:
        """Validate, and forget any value that is not one of the choices (a hand-edited URL)."""
        self.validate()
        for f in self:
            if f.errors:
                f.data = ""
                f.errors = []

    def filters(self, reviewer_id: int) -> QueueFilters:
        arbitration = {"yes": True, "no": False}.get(self.arbitration.data or "")
        return QueueFilters(
            status=self.status.data or None,
            solution_area=self.solution_area.data or None,
            arbitration=arbitration,
            assigned_to=reviewer_id if self.assigned.data == "mine" else None,
            unassigned=self.assigned.data == "unassigned",
        )

    def query_args(self) -> dict[str, str]:
        """The filters that are set, for links to other pages of the same queue."""
        return {f.name: f.data for f in self if f.data}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _message(label, required_message=None):
    """A message to the partner; one of blanks only counts as none (hence ``DataRequired``)."""
    if required_message is None:
        return TextAreaField(label, filters=[_strip], validators=[Optional(), Length(max=MAX_LENGTH)])
    return TextAreaField(label, filters=[_strip], validators=[DataRequired(message=required_message), Length(max=MAX_LENGTH)])


class ApproveForm(FlaskForm):
    message = _message(_l("Message to the partner (optional)"))


def _rejection_choices():
    return [SelectChoice("", _l("Choose a reason"))] + [
        SelectChoice(code, REJECTION_REASONS[code]) for code in REVIEWER_REJECTION_REASONS
    ]


class RejectForm(FlaskForm):
    reason_code = SelectField(
        _l("Reason for the rejection"),
        choices=_rejection_choices,
        validators=[InputRequired(message=_l("Choose the reason for the rejection."))],
    )
    message = _message(_l("Message to the partner"), _l("Write a message that explains the rejection to the partner."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class InformationForm(FlaskForm):
    reasons = MultiCheckboxField(
        _l("What is missing"),
        choices=lambda: [SelectChoice(code, label) for code, label in INFORMATION_REASONS.items()],
        validators=[InputRequired(message=_l("Choose at least one reason for the information request."))],
    )
    message = _message(_l("What the partner should provide"), _l("Write a message that tells the partner what to provide."))


class ApproveDisputeForm(FlaskForm):
    """Shares its field with ``RejectDisputeForm``: one form on the page, two buttons."""

    message = _message(_l("Message to the partner"))


class RejectDisputeForm(FlaskForm):
    message = _message(_l("Message to the partner"), _l("Explain to the partner why the dispute is rejected."))


class ArbitrationForm(FlaskForm):
    winner = RadioField(
        _l("Claim to approve"),
        coerce=int,
        validators=[InputRequired(message=_l("Choose the claim to approve."))],
    )
    message = TextAreaField(
        _l("Message to the partners (optional)"),
        description=_l("Each partner sees it on its own claim, so don't name the other partner. Without a message, each is told the outcome."),
        filters=[_strip],
        validators=[Optional(), Length(max=MAX_LENGTH)],
    )
