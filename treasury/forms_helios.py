"""Forms of the Hélios pages."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from treasury.models import HeliosSettings

SETTINGS_FIELDS = ["id_post", "id_coll", "cod_col", "cod_bud", "budget_label", "regie_id",
                   "nature_account", "key_nature_code", "regie_product_code",
                   "default_civility"]
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class HeliosSettingsForm(forms.ModelForm):
    """The settings, plus one product code field per service (``product_<id>``)."""

    class Meta:
        model = HeliosSettings
        fields = SETTINGS_FIELDS

    def __init__(self, *args, services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.services = list(services)
        codes = self.instance.product_codes or {}
        for service in self.services:
            self.fields[f"product_{service.pk}"] = forms.CharField(
                label=_("Product code: %(service)s") % {"service": service.name},
                max_length=4, required=False, initial=codes.get(str(service.pk), ""))

    def _post_clean(self):  # the service validates the model (every error at once)
        pass

    def product_fields(self):
        return [self[f"product_{service.pk}"] for service in self.services]

    def setting_fields(self):
        return [self[name] for name in SETTINGS_FIELDS]

    def product_codes(self) -> dict:
        return {str(service.pk): self.cleaned_data.get(f"product_{service.pk}", "")
                for service in self.services}


class BuildForm(forms.Form):
    factures = forms.MultipleChoiceField(label=_("Invoices"), choices=(),
                                         widget=forms.CheckboxSelectMultiple)
    avec_pdf = forms.BooleanField(label=_("Attach the invoices' PDF (the treasury prints "
                                          "and posts them)"), required=False, initial=True)

    def __init__(self, *args, invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.invoices = list(invoices)
        self.fields["factures"].choices = [(str(invoice.pk), invoice.number)
                                           for invoice in self.invoices]
        self.initial.setdefault("factures", [str(invoice.pk) for invoice in self.invoices])

    def chosen(self):
        wanted = set(self.cleaned_data["factures"])
        return [invoice for invoice in self.invoices if str(invoice.pk) in wanted]


class ImportForm(forms.Form):
    fichier = forms.FileField(label=_("File received from Hélios (acknowledgement or return "
                                      "file)"))

    def clean_fichier(self):
        upload = self.cleaned_data["fichier"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is too large."))
        return upload


class RegieMonthForm(forms.Form):
    mois = forms.DateField(label=_("Month"), input_formats=["%Y-%m"],
                           widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    @classmethod
    def previous_month(cls) -> datetime.date:
        today = timezone.localdate().replace(day=1)
        return (today - datetime.timedelta(days=1)).replace(day=1)
