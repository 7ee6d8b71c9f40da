"""Treasury forms: amounts typed in euros ("12,50") become integer cents here."""

import datetime
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from treasury.models import DESK_CHANNELS, Channel

ERROR_AMOUNT_FORMAT = _("Type an amount in euros, e.g. 12,50.")


def parse_euros(value: str) -> int:
    """'12,50', '12.5', '1 234,00 €' -> cents (int); raises ValueError otherwise."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", value or "").replace(",", ".")
    match = re.fullmatch(r"(\d{1,7})(?:\.(\d{1,2}))?", cleaned)
    if not match:
        raise ValueError(value)
    euros, cents = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(euros) * 100 + int(cents)


class EurosField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self, value):
        value = super().clean(value)
        if value in ("", None):
            return None
        try:
            cents = parse_euros(value)
        except ValueError:
            raise forms.ValidationError(ERROR_AMOUNT_FORMAT) from None
        if cents <= 0:
            raise forms.ValidationError(_("The amount must be more than 0,00 €."))
        return cents


class RunStartForm(forms.Form):
    mois = forms.DateField(label=_("Month to invoice"), input_formats=["%Y-%m"],
                           widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    @classmethod
    def with_default(cls):
        today = timezone.localdate().replace(day=1)
        previous = (today - datetime.timedelta(days=1)).replace(day=1)
        return cls(initial={"mois": previous})


class PaymentForm(forms.Form):
    moyen = forms.ChoiceField(label=_("Means of payment"),
                              choices=[(c, Channel(c).label) for c in DESK_CHANNELS])
    montant = EurosField(label=_("Amount (€)"))
    recu_le = forms.DateField(label=_("Received on"),
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    numero_cheque = forms.CharField(label=_("Cheque number"), max_length=30, required=False)
    banque = forms.CharField(label=_("Bank"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=255, required=False)
    factures = forms.MultipleChoiceField(
        label=_("Invoices to settle (none chosen: the oldest first)"), required=False,
        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, open_invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["factures"].choices = [(str(i.pk), i.number) for i in open_invoices]
        self.fields["recu_le"].initial = timezone.localdate()


class CreditForm(forms.Form):
    montant = EurosField(label=_("Amount to credit (€)"))
    motif = forms.CharField(label=_("Reason"), max_length=200)


class CancelForm(forms.Form):
    motif = forms.CharField(label=_("Reason for cancelling"), max_length=200)


class RefundForm(forms.Form):
    montant = EurosField(label=_("Amount to refund (€)"))
    motif = forms.CharField(label=_("Reason (decision)"), max_length=200)


def parse_euro_list(value: str) -> list[int]:
    """'1,00 ; 1,50 ; 3,20' -> [100, 150, 320] (one price per bracket)."""
    parts = [part for part in re.split(r"[;\n]+", value or "") if part.strip()]
    return [parse_euros(part) for part in parts]


class EuroListField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        try:
            return parse_euro_list(value)
        except ValueError:
            raise forms.ValidationError(
                _("Type one price per bracket in euros, separated by « ; » "
                  "(e.g. 1,00 ; 1,50 ; 3,20).")) from None


class GridForm(forms.Form):
    valide_du = forms.DateField(label=_("Valid from"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    bornes = forms.CharField(
        label=_("Lower bound of each bracket (QF)"),
        help_text=_("Separated by « ; », starting at 0, e.g. 0 ; 400 ; 650 ; 900."))

    def clean_bornes(self):
        try:
            return [int(part) for part in re.split(r"[;\s]+", self.cleaned_data["bornes"])
                    if part]
        except ValueError:
            raise forms.ValidationError(_("Whole numbers only, separated by « ; ».")) from None


class TariffForm(forms.Form):
    unite = forms.ChoiceField(label=_("Unit"))
    valide_du = forms.DateField(label=_("Valid from"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    prix = EuroListField(label=_("Price per day and bracket (€)"),
                         help_text=_("One price per bracket, lowest bracket first."))
    prix_hors_commune = EuroListField(label=_("Price outside the commune (€)"), required=False,
                                      help_text=_("Empty: the same prices."))
    reduction_2e = forms.DecimalField(label=_("2nd child discount (%)"), min_value=0,
                                      max_value=100, decimal_places=2, initial=0)
    reduction_3e = forms.DecimalField(label=_("3rd child and more discount (%)"), min_value=0,
                                      max_value=100, decimal_places=2, initial=0)
    majoration_tardive = EurosField(label=_("Late booking surcharge per day (€)"),
                                    required=False)
    majoration_sans_reservation = EurosField(
        label=_("Surcharge per day present without booking (€)"), required=False)
    minimum = EurosField(label=_("Monthly minimum (€)"), required=False)
    maximum = EurosField(label=_("Monthly maximum (€)"), required=False)
    facturer_absences = forms.BooleanField(label=_("Bill unjustified absences"),
                                           required=False, initial=True)
    facturer_annulations = forms.BooleanField(label=_("Bill late cancellations"),
                                              required=False, initial=True)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unite"].choices = [(str(unit.pk), str(unit)) for unit in units]
