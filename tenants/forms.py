from django import forms
from django.utils.translation import gettext_lazy as _

from core.defaults import COMMUNE_TEMPLATES, DEFAULT_TEMPLATE


class OnboardingForm(forms.Form):
    """Field shapes only; the rules live in ``tenants.services.commune_onboard``."""

    name = forms.CharField(label=_("Name of the commune"), max_length=120)
    slug = forms.CharField(
        label=_("Identifier"), max_length=40,
        help_text=_("Lower-case letters, digits and hyphens; becomes the database schema."),
    )
    domain = forms.CharField(label=_("Host name"), max_length=253,
                             help_text=_("For example sassenage.parvis.fr"))
    insee = forms.CharField(label=_("INSEE code"), max_length=5, required=False)
    siret = forms.CharField(label=_("SIRET"), max_length=17, required=False)
    admin_email = forms.EmailField(label=_("E-mail of the first administrator"), required=False)
    template = forms.ChoiceField(label=_("Reference-data template"),
                                 choices=list(COMMUNE_TEMPLATES.items()), initial=DEFAULT_TEMPLATE)


class StatusChangeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)


class PaymentSettingsForm(forms.Form):
    """A commune's Stripe keys; secrets are write-only (left empty: kept)."""

    enabled = forms.BooleanField(label=_("Online card payment enabled"), required=False)
    publishable_key = forms.CharField(label=_("Publishable key"), max_length=255,
                                      required=False, help_text=_("pk_live_… or pk_test_…"))
    secret_key = forms.CharField(
        label=_("Secret key"), max_length=255, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored key."))
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret"), max_length=255, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Leave empty to keep the stored secret."))
