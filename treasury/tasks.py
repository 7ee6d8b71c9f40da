"""Thin treasury tasks: ids in, one service call (each runs in its commune's schema)."""

from celery import shared_task


@shared_task(bind=True, max_retries=0)
def invoicing_run_compute_task(self, run_id: int) -> dict:
    from treasury.services.runs import invoicing_run_compute

    run = invoicing_run_compute(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(bind=True, max_retries=0)
def invoicing_run_issue_task(self, run_id: int) -> dict:
    from treasury.services.runs import invoicing_run_issue

    run = invoicing_run_issue(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(bind=True, max_retries=3, default_retry_delay=300)
def invoices_available_notify_task(self, run_id: int) -> int:
    from treasury.notifications import invoices_available_notify

    try:
        return invoices_available_notify(run_id=run_id)
    except OSError as error:  # the mail server did not answer: try again later
        raise self.retry(exc=error) from error


@shared_task(bind=True, max_retries=3, default_retry_delay=600)
def payment_reminders_task(self) -> int:
    from treasury.notifications import payment_reminders_send

    try:
        return payment_reminders_send()
    except OSError as error:
        raise self.retry(exc=error) from error


@shared_task(bind=True, max_retries=5)
def helios_bordereau_send_task(self, bordereau_id: int) -> str:
    from django.conf import settings

    from treasury.helios.transport import TransportError, TransportNotConfigured
    from treasury.services.helios_send import helios_bordereau_send

    try:
        return helios_bordereau_send(bordereau_id=bordereau_id)
    except TransportNotConfigured as error:  # retrying does not help: recorded as failed
        return f"failed: {error}"
    except TransportError as error:
        raise self.retry(exc=error, countdown=settings.HELIOS_SEND_RETRY_DELAY) from error
