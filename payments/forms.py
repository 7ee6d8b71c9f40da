from uuid import uuid4

from django import forms
from django.utils.translation import gettext_lazy as _

from treasury.forms import EurosField


class CardRefundForm(forms.Form):
    amount = EurosField(label=_("Amount to refund to the card"))
    reason = forms.CharField(label=_("Reason"), max_length=255)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    @classmethod
    def blank(cls, *, amount_cents: int):
        return cls(initial={"token": uuid4().hex,
                            "amount": f"{amount_cents // 100},{amount_cents % 100:02d}"})
