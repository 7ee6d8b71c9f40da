"""Forms of the parent pages: they check the shape of the input; rules live in services."""

import re
from datetime import date, timedelta

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from portal.models import Family, FamilyDocument
from portal.selectors_parent import bookable_units
from portal.services.attendance import ERROR_ABSENCE_PERIOD
from portal.services.guardians import (
    ERROR_DOCUMENT_FILE_REQUIRED,
    ERROR_DOCUMENT_KIND,
    ERROR_DOCUMENT_VALIDITY_REQUIRED,
)
from portal.services.pickups import (
    ERROR_PICKUP_NAME_REQUIRED,
    ERROR_PICKUP_PHONE_REQUIRED,
    ERROR_PICKUP_RELATIONSHIP_REQUIRED,
)

ERROR_PERIOD_ORDER = _("The end date must not be before the start date.")
ERROR_PERIOD_TOO_LONG = _("Book at most one year at a time.")
MAX_PATTERN_DAYS = 366
CONTACT_FIELDS = ("phone", "email", "address_line1", "address_line2", "postcode", "city")
SCHOOL_WEEKDAYS = [(str(number), WEEKDAYS[number - 1]) for number in range(1, 6)]


def month_from_param(value: str | None, *, today: date) -> date:
    """The first day of the month named by ``?mois=YYYY-MM``; the current month otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if match:
        year, month = int(match[1]), int(match[2])
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return date(year, month, 1)
    return today.replace(day=1)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class FamilyContactForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel",
                                                          "inputmode": "tel"}))
    email = forms.EmailField(label=_("E-mail address"), required=False,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False,
                                    widget=forms.TextInput(
                                        attrs={"autocomplete": "address-line1"}))
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200,
                                    required=False, widget=forms.TextInput(
                                        attrs={"autocomplete": "address-line2"}))
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "postal-code",
                                                             "inputmode": "numeric"}))
    city = forms.CharField(label=_("City"), max_length=100, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))

    @classmethod
    def for_family(cls, family: Family, data=None) -> "FamilyContactForm":
        return cls(data, initial={name: getattr(family, name) for name in CONTACT_FIELDS},
                   auto_id=f"id_family{family.pk}_%s")


class DayBookingForm(forms.Form):
    unit = forms.ModelChoiceField(queryset=bookable_units())
    date = forms.DateField()


class PatternBookingForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Service"), queryset=bookable_units())
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days of the week"), choices=SCHOOL_WEEKDAYS, coerce=int,
        widget=forms.CheckboxSelectMultiple)
    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To (inclusive)"), widget=DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", ERROR_PERIOD_ORDER)
            elif end - start > timedelta(days=MAX_PATTERN_DAYS):
                self.add_error("end", ERROR_PERIOD_TOO_LONG)
        return cleaned


class AbsenceForm(forms.Form):
    start = forms.DateField(label=_("First day of absence"), widget=DateInput())
    end = forms.DateField(label=_("Last day of absence"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    certificate = forms.FileField(
        label=_("Medical certificate (PDF, JPEG or PNG, optional)"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", ERROR_ABSENCE_PERIOD)
        return cleaned


class FamilyDocumentForm(forms.Form):
    """A supporting document for one household; the child list is that household's."""

    kind = forms.ChoiceField(label=_("Kind of document"), choices=FamilyDocument.Kind.choices,
                             error_messages={"required": ERROR_DOCUMENT_KIND,
                                             "invalid_choice": ERROR_DOCUMENT_KIND})
    child = forms.ModelChoiceField(label=_("Child concerned"), queryset=None, required=False,
                                   empty_label=_("The whole household"))
    valid_until = forms.DateField(
        label=_("Valid until"), widget=DateInput(),
        help_text=_("The end of validity written on the document (for a QF proof: usually "
                    "31 December)."),
        error_messages={"required": ERROR_DOCUMENT_VALIDITY_REQUIRED})
    file = forms.FileField(
        label=_("File (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        error_messages={"required": ERROR_DOCUMENT_FILE_REQUIRED,
                        "empty": ERROR_DOCUMENT_FILE_REQUIRED})

    def __init__(self, *args, family: Family, **kwargs):
        kwargs.setdefault("auto_id", f"id_document{family.pk}_%s")
        super().__init__(*args, **kwargs)
        self.fields["child"].queryset = family.children.order_by("first_name", "last_name")


class PickupForm(forms.Form):
    """A person authorised to pick up a child (parent and agent pages)."""

    name = forms.CharField(label=_("First name and last name"), max_length=200,
                           error_messages={"required": ERROR_PICKUP_NAME_REQUIRED})
    relationship = forms.CharField(
        label=_("Relationship to the child"), max_length=100,
        help_text=_("For example: grandmother, uncle, neighbour, childminder."),
        error_messages={"required": ERROR_PICKUP_RELATIONSHIP_REQUIRED})
    phone = forms.CharField(label=_("Phone"), max_length=20,
                            error_messages={"required": ERROR_PICKUP_PHONE_REQUIRED},
                            widget=forms.TextInput(attrs={"inputmode": "tel",
                                                          "autocomplete": "off"}))
    note = forms.CharField(label=_("Note (optional)"), max_length=255, required=False,
                           help_text=_("For example: only on Wednesdays."))

    @classmethod
    def for_pickup(cls, pickup, data=None) -> "PickupForm":
        return cls(data, initial={"name": pickup.name, "relationship": pickup.relationship,
                                  "phone": pickup.phone, "note": pickup.note})
