"""Forms of the agent pages. They parse and validate input; the rules live in services."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Civility, ClassLevel, Facility, Residency, Unit

ERROR_DAY_FUTURE = _("Attendance cannot be recorded for a day that has not come yet.")
ERROR_MERGE_SAME = _("Choose two different records.")
ERROR_UNIT_FACILITY = _("This unit does not belong to the chosen facility.")
ERROR_PERIOD = _("The end of the period is before its start.")
RESIDENCY_AUTOMATIC = ""


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def service_errors(form: forms.Form, exc) -> None:
    """Show a service's ``ValidationError`` on the form's fields (or above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def parse_month(value: str | None, *, default: datetime.date) -> datetime.date:
    """'2027-03' -> 1 March 2027; anything else -> the first day of ``default``'s month."""
    try:
        return datetime.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return default.replace(day=1)


class FamilySearchForm(forms.Form):
    q = forms.CharField(label=_("Family name, child, e-mail or phone"), max_length=100,
                        required=False,
                        widget=forms.SearchInput(attrs={"autofocus": True,
                                                        "autocomplete": "off"}))


class FamilyForm(forms.Form):
    name = forms.CharField(label=_("Family name"), max_length=150)
    address_line1 = forms.CharField(label=_("Address"), max_length=200, required=False)
    address_line2 = forms.CharField(label=_("Address (continued)"), max_length=200,
                                    required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=10, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    email = forms.CharField(label=_("E-mail address"), max_length=254, required=False)
    residency = forms.ChoiceField(
        label=_("Residency"), required=False,
        choices=[(RESIDENCY_AUTOMATIC, _("From the address")), *Residency.choices],
        help_text=_("Choose a residency only to override what the address gives."))

    @classmethod
    def for_family(cls, family, data=None):
        initial = {name: getattr(family, name) for name in cls.base_fields
                   if name != "residency"}
        initial["residency"] = family.residency if family.residency_overridden else ""
        return cls(data, initial=initial)

    def update_fields(self) -> dict:
        """Keyword arguments of ``family_update`` (``residency=None``: from the address)."""
        fields = dict(self.cleaned_data)
        fields["residency"] = fields["residency"] or None
        return fields


class FamilyCreateForm(FamilyForm):
    residency = None


CIVILITY_CHOICES = [("", "—"), *Civility.choices]


class GuardianEditForm(forms.Form):
    civility = forms.ChoiceField(label=_("Civility"), choices=CIVILITY_CHOICES, required=False,
                                 help_text=_("Printed on letters and sent to the treasury."))
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    is_payer = forms.BooleanField(label=_("Pays the invoices"), required=False)

    @classmethod
    def for_guardian(cls, guardian, data=None) -> "GuardianEditForm":
        return cls(data, initial={name: getattr(guardian, name) for name in cls.base_fields})


class GuardianAddForm(GuardianEditForm):
    email = forms.CharField(label=_("E-mail address"), max_length=254, required=False)

    field_order = ["civility", "first_name", "last_name", "email", "phone", "is_payer"]


class ChildAddForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    birth_date = forms.DateField(label=_("Birth date"), widget=DateInput())
    school = forms.ModelChoiceField(label=_("School"), required=False,
                                    queryset=Facility.objects.order_by("name"))
    class_level = forms.ChoiceField(label=_("Class"), required=False,
                                    choices=[("", "—"), *ClassLevel.choices])
    has_pai = forms.BooleanField(label=_("Individual care plan (PAI)"), required=False)
    allergies = forms.CharField(label=_("Allergies"), required=False, widget=forms.Textarea(
        attrs={"rows": 2}))
    health_notes = forms.CharField(label=_("Health notes"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 2}))

    HEALTH_FIELDS = ("has_pai", "allergies", "health_notes")

    def __init__(self, *args, show_health: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_health:  # an agent who may not read health data may not write it
            for name in self.HEALTH_FIELDS:
                del self.fields[name]


class DecisionForm(forms.Form):
    """Validate or reject a document; justify an absence or not."""

    decision = forms.TypedChoiceField(choices=[("yes", "yes"), ("no", "no")],
                                      coerce=lambda value: value == "yes")


class GuardianMergeForm(forms.Form):
    keep = forms.ModelChoiceField(label=_("Record to keep"), queryset=None)
    remove = forms.ModelChoiceField(label=_("Duplicate to merge into it (deleted)"),
                                    queryset=None)

    def __init__(self, *args, family, **kwargs):
        super().__init__(*args, **kwargs)
        guardians = family.guardians.order_by("last_name", "first_name")
        self.fields["keep"].queryset = guardians
        self.fields["remove"].queryset = guardians

    def clean(self):
        data = super().clean()
        if data.get("keep") and data.get("keep") == data.get("remove"):
            raise forms.ValidationError(ERROR_MERGE_SAME)
        return data


class ChildMergeForm(forms.Form):
    """Ids only: the view fetches both children through ``access_child``."""

    keep = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    remove = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("keep") and data.get("keep") == data.get("remove"):
            raise forms.ValidationError(ERROR_MERGE_SAME)
        return data


class AttendanceFilterForm(forms.Form):
    """The unit and day of an attendance list; the unit list narrows to the facility."""

    etablissement = forms.ModelChoiceField(label=_("Facility"), required=False,
                                           queryset=Facility.objects.order_by("name"))
    unite = forms.ModelChoiceField(label=_("Unit"), required=False, queryset=None)
    jour = forms.DateField(label=_("Day"), required=False, widget=DateInput())
    chercher = forms.CharField(label=_("Child present without booking: name"), max_length=100,
                               required=False, widget=forms.SearchInput())

    def __init__(self, data, *, units):
        facility = data.get("etablissement", "")
        if facility.isdigit():
            units = units.filter(facility_id=int(facility))
        super().__init__(data)
        self.fields["unite"].queryset = units
        self.fields["unite"].label_from_instance = lambda unit: (
            f"{unit.name} ({unit.start_time:%H:%M}–{unit.end_time:%H:%M})")

    def clean_jour(self):
        return self.cleaned_data["jour"] or timezone.localdate()


class AttendanceTapForm(forms.Form):
    unite = forms.ModelChoiceField(queryset=Unit.objects.select_related("facility"))
    jour = forms.DateField()
    enfant = forms.IntegerField(min_value=1)
    present = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")],
                                     coerce=lambda value: value == "1")

    def clean_jour(self):
        day = self.cleaned_data["jour"]
        if day > timezone.localdate():
            raise forms.ValidationError(ERROR_DAY_FUTURE)
        return day


class JournalFilterForm(forms.Form):
    famille = forms.IntegerField(label=_("Family no."), min_value=1, required=False)
    enfant = forms.IntegerField(label=_("Child no."), min_value=1, required=False)
    du = forms.DateField(label=_("From"), required=False, widget=DateInput())
    au = forms.DateField(label=_("To"), required=False, widget=DateInput())
    auteur = forms.CharField(label=_("Author"), max_length=254, required=False)

    def clean(self):
        data = super().clean()
        if data.get("du") and data.get("au") and data["au"] < data["du"]:
            self.add_error("au", ERROR_PERIOD)
        return data

    def search_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"family_id": data.get("famille"), "child_id": data.get("enfant"),
                "start": data.get("du"), "end": data.get("au"),
                "actor": (data.get("auteur") or "").strip()}
