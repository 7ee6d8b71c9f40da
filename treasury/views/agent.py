"""Finance pages (régisseur and finance agents): invoicing runs, invoices, family
accounts, desk payments, unpaid invoices. Look up, check, one service, respond."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import actor_from_request, capability_required
from accounts.roles import Capability
from portal.access import access_family
from portal.forms_agent import service_errors
from treasury import selectors
from treasury.access import access_invoice, access_run
from treasury.forms import (
    CancelForm,
    CreditForm,
    GridForm,
    PaymentForm,
    RefundForm,
    RunStartForm,
    TariffForm,
)
from treasury.models import InvoicingRun, RunStatus
from treasury.pricing import format_cents
from treasury.services.payments import (
    credit_refund,
    invoice_cancel,
    invoice_credit,
    payment_record,
)
from treasury.services.runs import (
    invoicing_run_discard,
    invoicing_run_issue_request,
    invoicing_run_start,
)
from treasury.services.tariffs import quotient_grid_set, tariff_set

FINANCE = Capability.MANAGE_FINANCE
DRAFTS_PER_PAGE = 50
WORKING = (RunStatus.PENDING, RunStatus.RUNNING, RunStatus.ISSUING)


@capability_required(FINANCE)
def finance_home(request):
    return render(request, "treasury/agent/home.html", {
        "runs": InvoicingRun.objects.all()[:24], "form": RunStartForm.with_default(),
    })


@capability_required(FINANCE)
@require_POST
def run_start(request):
    form = RunStartForm(request.POST)
    if form.is_valid():
        try:
            run = invoicing_run_start(period=form.cleaned_data["mois"],
                                      actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            return redirect("treasury:run", run_id=run.pk)
    return render(request, "treasury/agent/home.html", {
        "runs": InvoicingRun.objects.all()[:24], "form": form}, status=400)


def _run_context(request, run):
    drafts = Paginator(selectors.run_documents(run), DRAFTS_PER_PAGE).get_page(
        request.GET.get("page"))
    return {"run": run, "working": run.status in WORKING, "drafts": drafts,
            "summary": selectors.run_summary_view(run)}


@capability_required(FINANCE)
def run_detail(request, run_id):
    run = access_run(request, run_id)
    return render(request, "treasury/agent/run.html", _run_context(request, run))


@capability_required(FINANCE)
def run_progress(request, run_id):
    """The progress bar, polled by the page while the task works; once done the page
    reloads itself (``HX-Refresh``) to show the review."""
    run = access_run(request, run_id)
    response = render(request, "treasury/agent/_progress.html",
                      {"run": run, "working": run.status in WORKING})
    if run.status not in WORKING and request.GET.get("was") in WORKING:
        response["HX-Refresh"] = "true"
    return response


@capability_required(FINANCE)
@require_POST
def run_issue(request, run_id):
    run = access_run(request, run_id)
    try:
        invoicing_run_issue_request(run=run, actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("treasury:run", run_id=run.pk)


@capability_required(FINANCE)
@require_POST
def run_discard(request, run_id):
    run = access_run(request, run_id)
    try:
        invoicing_run_discard(run=run, actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The drafts were discarded."))
    return redirect("treasury:home")


@capability_required(FINANCE)
def invoice_detail(request, invoice_id):
    invoice = access_invoice(request, invoice_id)
    return render(request, "treasury/agent/invoice.html", {
        **selectors.invoice_view(invoice), "credit_form": CreditForm(),
        "cancel_form": CancelForm()})


def _invoice_action(request, invoice_id, form_class, action, done_message):
    invoice = access_invoice(request, invoice_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            note = action(invoice, form.cleaned_data, actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, done_message % {"number": note.number if note else "—"})
            return redirect("treasury:invoice", invoice_id=invoice.pk)
    context = {**selectors.invoice_view(invoice), "credit_form": CreditForm(),
               "cancel_form": CancelForm()}
    context["credit_form" if form_class is CreditForm else "cancel_form"] = form
    return render(request, "treasury/agent/invoice.html", context, status=400)


@capability_required(FINANCE)
@require_POST
def invoice_credit_view(request, invoice_id):
    return _invoice_action(
        request, invoice_id, CreditForm,
        lambda invoice, data, actor: invoice_credit(
            invoice=invoice, amount_cents=data["montant"], reason=data["motif"], actor=actor),
        _("Credit note %(number)s issued."))


@capability_required(FINANCE)
@require_POST
def invoice_cancel_view(request, invoice_id):
    return _invoice_action(
        request, invoice_id, CancelForm,
        lambda invoice, data, actor: invoice_cancel(invoice=invoice, reason=data["motif"],
                                                    actor=actor),
        _("Invoice cancelled (credit note %(number)s)."))


def _account_context(family, payment_form=None, refund_form=None):
    open_invoices = list(selectors.unpaid_invoices(overdue_only=False).filter(family=family))
    return {
        "family": family, "balance": selectors.family_balance(family.pk),
        "statement": selectors.family_statement(family.pk),
        "invoices": selectors.family_invoices(family.pk),
        "payment_form": payment_form or PaymentForm(open_invoices=open_invoices),
        "refund_form": refund_form or RefundForm(), "open_invoices": open_invoices,
    }


@capability_required(FINANCE)
def family_account(request, family_id):
    family = access_family(request, family_id)
    return render(request, "treasury/agent/account.html", _account_context(family))


@capability_required(FINANCE)
@require_POST
def payment_new(request, family_id):
    family = access_family(request, family_id)
    open_invoices = list(selectors.unpaid_invoices(overdue_only=False).filter(family=family))
    form = PaymentForm(request.POST, open_invoices=open_invoices)
    if form.is_valid():
        data = form.cleaned_data
        chosen = [invoice for invoice in open_invoices if str(invoice.pk) in data["factures"]]
        try:
            outcome = payment_record(
                family=family, channel=data["moyen"], amount_cents=data["montant"],
                received_on=data["recu_le"], cheque_number=data["numero_cheque"],
                bank=data["banque"], note=data["note"], invoices=chosen or None,
                actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Payment recorded: receipt %(receipt)s.") % {
                "receipt": outcome.payment.receipt_number})
            if outcome.credit_cents:
                messages.info(request, _("%(amount)s left as the family's credit.") % {
                    "amount": format_cents(outcome.credit_cents)})
            return redirect("treasury:account", family_id=family.pk)
    return render(request, "treasury/agent/account.html",
                  _account_context(family, payment_form=form), status=400)


@capability_required(FINANCE)
@require_POST
def refund_new(request, family_id):
    family = access_family(request, family_id)
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            credit_refund(family=family, amount_cents=form.cleaned_data["montant"],
                          reason=form.cleaned_data["motif"], actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("Refund recorded."))
            return redirect("treasury:account", family_id=family.pk)
    return render(request, "treasury/agent/account.html",
                  _account_context(family, refund_form=form), status=400)


@capability_required(FINANCE)
@require_http_methods(["GET", "POST"])
def unpaid(request):
    if request.method == "POST":
        from treasury.notifications import payment_reminders_send

        sent = payment_reminders_send()
        messages.success(request, _("%(count)s reminders sent.") % {"count": sent})
        return redirect("treasury:unpaid")
    invoices = Paginator(selectors.unpaid_invoices(), 100).get_page(request.GET.get("page"))
    return render(request, "treasury/agent/unpaid.html", {
        "invoices": invoices, "total": selectors.unpaid_total()})



def _tariffs_page(request, grid_form=None, tariff_form=None, status=200):
    from portal.models import Unit
    from treasury.models import QuotientGrid

    units = list(Unit.objects.select_related("service", "facility").prefetch_related("tariffs"))
    return render(request, "treasury/agent/tariffs.html", {
        "grids": QuotientGrid.objects.all(), "units": units,
        "grid_form": grid_form or GridForm(),
        "tariff_form": tariff_form or TariffForm(units=units)}, status=status)


@capability_required(FINANCE)
def tariffs(request):
    return _tariffs_page(request)


@capability_required(FINANCE)
@require_POST
def grid_new(request):
    form = GridForm(request.POST)
    if form.is_valid():
        try:
            quotient_grid_set(valid_from=form.cleaned_data["valide_du"],
                              lower_bounds=form.cleaned_data["bornes"],
                              actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The family quotient grid is saved."))
            return redirect("treasury:tariffs")
    return _tariffs_page(request, grid_form=form, status=400)


@capability_required(FINANCE)
@require_POST
def tariff_new(request):
    from portal.models import Unit

    units = list(Unit.objects.select_related("service", "facility"))
    form = TariffForm(request.POST, units=units)
    if form.is_valid():
        data = form.cleaned_data
        unit = next(unit for unit in units if str(unit.pk) == data["unite"])
        try:
            tariff_set(unit=unit, valid_from=data["valide_du"], resident_cents=data["prix"],
                       non_resident_cents=data["prix_hors_commune"] or None,
                       sibling_discount_2_pct=data["reduction_2e"],
                       sibling_discount_3_pct=data["reduction_3e"],
                       late_booking_surcharge_cents=data["majoration_tardive"] or 0,
                       no_booking_surcharge_cents=data["majoration_sans_reservation"] or 0,
                       min_month_cents=data["minimum"], max_month_cents=data["maximum"],
                       bill_unjustified_absence=data["facturer_absences"],
                       bill_late_cancellation=data["facturer_annulations"],
                       actor=actor_from_request(request))
        except ValidationError as exc:
            service_errors(form, exc)
        else:
            messages.success(request, _("The tariff of %(unit)s is saved.") % {"unit": unit})
            return redirect("treasury:tariffs")
    return _tariffs_page(request, tariff_form=form, status=400)
