"""Finance pages of the Hélios exchange: settings, unpaid invoices to hand over (ORMC
bordereaux), files received back, the régie's monthly receipts. Finance agents only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability
from portal.forms_agent import service_errors
from portal.models import Service
from treasury import selectors_helios
from treasury.access import access_bordereau
from treasury.forms_helios import (
    SETTINGS_FIELDS,
    BuildForm,
    HeliosSettingsForm,
    ImportForm,
    RegieMonthForm,
)
from treasury.models import BordereauKind, HeliosImport, HeliosSettings
from treasury.services.helios import (
    helios_bordereau_build,
    helios_bordereau_discard,
    helios_bordereau_release,
    helios_settings_save,
)
from treasury.services.helios_imports import helios_file_import
from treasury.services.helios_regie import regie_title_build

FINANCE = Capability.MANAGE_FINANCE


def _home(request, build_form=None, import_form=None, status=200):
    invoices = list(selectors_helios.helios_invoices_proposed()[:500])
    return render(request, "treasury/helios/home.html", {
        "settings": HeliosSettings.get(), "invoices": invoices,
        "build_form": build_form or BuildForm(invoices=invoices),
        "import_form": import_form or ImportForm(),
        "bordereaux": selectors_helios.helios_bordereaux()[:50],
        "imports": HeliosImport.objects.defer("content")[:20]}, status=status)


@capability_required(FINANCE)
def helios_home(request):
    return _home(request)


@capability_required(FINANCE)
@require_http_methods(["GET", "POST"])
def helios_settings(request):
    services = list(Service.objects.order_by("name"))
    form = HeliosSettingsForm(request.POST or None, instance=HeliosSettings.get(),
                              services=services)
    if request.method == "POST" and form.is_valid():
        try:
            helios_settings_save(
                values={name: form.cleaned_data[name] for name in SETTINGS_FIELDS},
                product_codes=form.product_codes(), actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The Hélios settings are saved."))
            return redirect("treasury:helios")
    return render(request, "treasury/helios/settings.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@capability_required(FINANCE)
@require_POST
def bordereau_build(request):
    invoices = list(selectors_helios.helios_invoices_proposed()[:500])
    form = BuildForm(request.POST, invoices=invoices)
    if form.is_valid():
        try:
            bordereau = helios_bordereau_build(invoices=form.chosen(),
                                               with_pdf=form.cleaned_data["avec_pdf"],
                                               actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            return redirect("treasury:helios_bordereau", bordereau_id=bordereau.pk)
    return _home(request, build_form=form, status=400)


@capability_required(FINANCE)
def bordereau_detail(request, bordereau_id):
    bordereau = access_bordereau(request, bordereau_id)
    return render(request, "treasury/helios/bordereau.html", {
        "bordereau": bordereau, "pieces": selectors_helios.bordereau_pieces(bordereau)})


@capability_required(FINANCE)
def bordereau_download(request, bordereau_id):
    bordereau = access_bordereau(request, bordereau_id)
    if not bordereau.can_download:
        messages.error(request, _("An invalid bordereau cannot be downloaded."))
        return redirect("treasury:helios_bordereau", bordereau_id=bordereau.pk)
    response = HttpResponse(bytes(bordereau.content),
                            content_type="application/xml; charset=ISO-8859-1")
    response["Content-Disposition"] = f'attachment; filename="{bordereau.file_name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _bordereau_action(request, bordereau_id, action, done):
    bordereau = access_bordereau(request, bordereau_id)
    try:
        action(bordereau=bordereau, actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("treasury:helios_bordereau", bordereau_id=bordereau.pk)


@capability_required(FINANCE)
@require_POST
def bordereau_release(request, bordereau_id):
    return _bordereau_action(request, bordereau_id, helios_bordereau_release,
                             _("Bordereau released: its invoices are now collected by the "
                               "treasury."))


@capability_required(FINANCE)
@require_POST
def bordereau_discard(request, bordereau_id):
    return _bordereau_action(request, bordereau_id, helios_bordereau_discard,
                             _("Bordereau discarded."))


@capability_required(FINANCE)
@require_POST
def helios_import(request):
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["fichier"]
        try:
            record = helios_file_import(content=upload.read(), file_name=upload.name,
                                        actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("File imported: %(summary)s") % {
                "summary": record.summary.replace("\n", " ; ")})
            return redirect("treasury:helios")
    return _home(request, import_form=form, status=400)


@capability_required(FINANCE)
@require_http_methods(["GET", "POST"])
def regie_statement(request):
    data = request.POST if request.method == "POST" else (
        request.GET if "mois" in request.GET else None)
    form = RegieMonthForm(data, initial={"mois": RegieMonthForm.previous_month()})
    month = form.cleaned_data["mois"] if form.is_bound and form.is_valid() \
        else RegieMonthForm.previous_month()
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            bordereau = regie_title_build(month=month, actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
            status = 400
        else:
            return redirect("treasury:helios_bordereau", bordereau_id=bordereau.pk)
    receipts = selectors_helios.regie_receipts(month)
    return render(request, "treasury/helios/regie.html", {
        "form": form, "month": month, "receipts": receipts,
        "total_cents": sum(row.net_cents for row in receipts),
        "titles": selectors_helios.helios_bordereaux(BordereauKind.REGIE)[:24]}, status=status)
