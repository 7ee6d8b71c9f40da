"""Thin card-payment tasks: ids in, one service call (each in its commune's schema)."""

from celery import shared_task


@shared_task(bind=True, max_retries=8, default_retry_delay=30, retry_backoff=True)
def webhook_event_process_task(self, event_pk: int) -> str:
    from payments.services.events import webhook_event_process

    try:
        return webhook_event_process(event_pk=event_pk).status
    except Exception as error:  # the API or the database did not answer: try again
        raise self.retry(exc=error) from error


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def payment_intent_cancel_task(self, payment_intent_id: str) -> str:
    from payments.services.sweep import payment_intent_cancel

    try:
        return payment_intent_cancel(payment_intent_id=payment_intent_id)
    except OSError as error:
        raise self.retry(exc=error) from error


@shared_task(bind=True, max_retries=3, default_retry_delay=300)
def card_receipt_send_task(self, attempt_pk: int) -> int:
    from payments.notifications import card_receipt_send

    try:
        return card_receipt_send(attempt_pk=attempt_pk)
    except OSError as error:
        raise self.retry(exc=error) from error


@shared_task(bind=True, max_retries=0)
def attempts_sweep_task(self) -> dict:
    from payments.services.sweep import attempts_sweep

    return attempts_sweep()


@shared_task(bind=True, max_retries=5, default_retry_delay=120, retry_backoff=True)
def payout_reconcile_task(self, payout_pk: int) -> str:
    import stripe

    from payments.models import Payout
    from payments.services.reconcile import payout_reconcile

    try:
        payout = payout_reconcile(payout=Payout.objects.get(pk=payout_pk))
    except stripe.InvalidRequestError as error:  # e.g. localstripe: no ``payout=`` filter
        return f"not reconciled: {error}"
    except (OSError, stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise self.retry(exc=error) from error
    return "ties out" if payout.ties_out else "difference"
