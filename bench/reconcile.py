"""Benchmark: reconciling 100,000 Stripe balance transactions against the ledger.

Run with ``PARVIS_ENV=dev .venv/bin/python bench/reconcile.py``.

It works in its own database (``parvis_bench_reconcile``, dropped and recreated; the
development database is never touched), onboards one commune and creates, with bulk
inserts: ``FAMILIES`` families, one card ``Payment`` per charge (PaymentIntent id as
reference), a ``payment_intent.succeeded`` ``WebhookEvent`` for 99 % of them, and
``PAYOUTS`` payouts of ``PER_PAYOUT`` balance transactions each (charges with Stripe's
fee, refunds, dispute adjustments, ``stripe_fee`` lines), as the API lists them with
``expand=["data.source"]``. A few charges are unknown here or of another amount, and a
few payouts are one cent off, so anomalies are found too.

Measured: ``payouts_reconcile`` (match every transaction to its payment, store the
transactions, the payouts' totals and the anomalies, journal) over all payouts, in
batches of ``BATCH`` payouts, then a second time (reconciling again: same result, no
new anomaly). Printed: seconds, transactions per second, SQL statements per batch
(constant whatever the batch size: set-based, no query per row).
"""

import os
import random
import sys
import time
from datetime import date
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_reconcile"
SLUG = "rapprochement"
HOST = "rapprochement.localhost"
FAMILIES = 2_000
PAYOUTS = 500
PER_PAYOUT = 200  # 190 charges, 6 refunds, 2 disputes, 2 stripe_fee
BATCH = 50
SEED = 20260420

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ["PARVIS_DB_NAME"] = DB_NAME


def fee_of(amount: int) -> int:
    return (amount * 15 + 500) // 1000 + 25


def txn(number: int, kind: str, amount: int, fee: int, source) -> dict:
    return {"id": f"txn_{number:07d}", "object": "balance_transaction", "type": kind,
            "amount": amount, "fee": fee, "net": amount - fee, "currency": "eur",
            "created": 1_776_000_000 + number, "source": source,
            "reporting_category": "dispute" if kind == "adjustment" else kind}


def setup():
    import django

    django.setup()

    from bench.common import bench_database, database_recreate, platform_prepare

    database_recreate(bench_database())
    platform_prepare()
    from core.journal import Actor
    from tenants.services import commune_onboard

    return commune_onboard(slug=SLUG, name="Rapprochement-sur-Isère", domain=HOST,
                           actor=Actor.system("bench")).commune


def data_create(rng: random.Random) -> dict[str, list[dict]]:
    """Families, payments, events and payouts; returns each payout's transactions."""
    from payments.models import EventStatus, Payout, WebhookEvent
    from portal.models import Family
    from treasury.models import Channel, Payment

    Family.objects.bulk_create([Family(reference=f"R{i:05d}", name=f"Famille {i}",
                                       search_name=f"famille {i}") for i in range(FAMILIES)],
                               batch_size=2000)
    family_ids = list(Family.objects.values_list("pk", flat=True))
    payments, events, transactions, payouts = [], [], {}, []
    number = 0
    for p in range(PAYOUTS):
        payout_id = f"po_{p:05d}"
        txns, charges = [], []
        for _c in range(190):
            number += 1
            intent, amount = f"pi_{number:07d}", rng.randrange(300, 20_000)
            charges.append((intent, amount))
            if rng.random() > 0.001:  # a few charges unknown here
                recorded = amount if rng.random() > 0.001 else amount - 10
                payments.append(Payment(
                    family_id=rng.choice(family_ids), channel=Channel.ONLINE_CARD,
                    amount_cents=recorded, received_on=date(2026, 4, 1 + p % 28),
                    reference=intent, receipt_year=2026, receipt_sequence=number,
                    receipt_number=f"R2026-{number:07d}"))
            if rng.random() > 0.01:
                events.append(WebhookEvent(
                    event_id=f"evt_{number:07d}", type="payment_intent.succeeded",
                    object_id=intent, payload={}, status=EventStatus.PROCESSED))
            txns.append(txn(number, "charge", amount, fee_of(amount), {
                "id": f"ch_{number:07d}", "object": "charge", "payment_intent": intent}))
        for index in range(6):
            number += 1
            intent, amount = charges[index]
            txns.append(txn(number, "refund", -amount // 2, 0, {
                "id": f"re_{number:07d}", "object": "refund", "payment_intent": intent}))
        for index in range(6, 8):
            number += 1
            intent, amount = charges[index]
            txns.append(txn(number, "adjustment", -amount, 1500, {
                "id": f"dp_{number:07d}", "object": "dispute", "payment_intent": intent}))
        for _f in range(2):
            number += 1
            txns.append(txn(number, "stripe_fee", -rng.randrange(10, 200), 0, None))
        net = sum(t["net"] for t in txns)
        payouts.append(Payout(payout_id=payout_id, status="paid",
                              amount_cents=net if rng.random() > 0.02 else net + 1,
                              arrival_date=date(2026, 4, 1 + p % 28)))
        transactions[payout_id] = txns
    Payment.objects.bulk_create(payments, batch_size=5000)
    WebhookEvent.objects.bulk_create(events, batch_size=5000)
    Payout.objects.bulk_create(payouts, batch_size=1000)
    return transactions


def reconcile_all(transactions) -> tuple[float, list[int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.services.reconcile import payouts_reconcile

    ids = list(transactions)
    statements, started = [], time.perf_counter()
    for start in range(0, len(ids), BATCH):
        batch = {payout_id: transactions[payout_id] for payout_id in ids[start:start + BATCH]}
        with CaptureQueriesContext(connection) as captured:
            payouts_reconcile(transactions=batch)
        statements.append(sum(1 for q in captured.captured_queries
                              if not q["sql"].startswith("SET search_path")))
    return time.perf_counter() - started, statements


def main() -> None:
    commune = setup()
    rng = random.Random(SEED)
    with commune:
        started = time.perf_counter()
        transactions = data_create(rng)
        count = sum(len(txns) for txns in transactions.values())
        print(f"data: {count:,} balance transactions in {len(transactions)} payouts, "
              f"{time.perf_counter() - started:.1f} s (bulk_create)")
        from payments.models import Anomaly, Payout, PayoutTransaction
        from payments.reconciliation import line_of, summarise

        started = time.perf_counter()
        for txns in transactions.values():
            summarise([line_of(t) for t in txns], 0)
        pure = time.perf_counter() - started
        first, statements = reconcile_all(transactions)
        anomalies = Anomaly.objects.count()
        again, statements_again = reconcile_all(transactions)
        ties = Payout.objects.filter(ties_out=True).count()
        stored = PayoutTransaction.objects.count()
        ok = (stored == count and Anomaly.objects.count() == anomalies
              and max(statements + statements_again) <= 40)
        print(f"pure classification and sums alone: {pure:.2f} s")
        print(f"reconcile: {first:.2f} s ({count / first:,.0f} transactions/s); "
              f"again: {again:.2f} s")
        print(f"SQL statements per batch of {BATCH} payouts ({BATCH * PER_PAYOUT:,} "
              f"transactions): {sorted(set(statements))} then {sorted(set(statements_again))}")
        print(f"{ties} of {len(transactions)} payouts tie out; {anomalies} anomalies; "
              f"{stored:,} transactions stored")
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
