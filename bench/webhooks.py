"""Benchmark: signed Stripe webhook events ingested per second by one web process.

Run with ``make bench`` or ``PARVIS_ENV=dev .venv/bin/python bench/webhooks.py``.

It works in its own database (``parvis_bench_webhooks``, dropped and recreated; the
development database is never touched), onboards one commune and gives it payment
settings (``pk_test_…``, ``sk_test_…``, ``whsec_…``), then:

* Ingestion (the figure): ``EVENTS`` distinct events of types ``payment_intent.succeeded``,
  ``charge.refunded`` and ``payout.paid``, each signed with the commune's webhook secret
  like Stripe does, plus ``DUPLICATES`` × that many re-sends of identical bodies (the
  same bytes; each delivery is signed when sent, as Stripe signs a re-send: same body,
  fresh timestamp, so a slow run never sends stale signatures), shuffled, are POSTed by
  ``CLIENTS`` threads (one ``requests.Session`` each, keep-alive, one forged warm-up
  request each, answered 400 and logged as such) to ``/paiement/stripe/webhook/`` on the
  commune's host, served by ONE gunicorn process (1 worker × 4 threads, gthread) on
  127.0.0.1 with ``CELERY_BROKER_URL=memory://``: the endpoint verifies the signature,
  stores the event once under its id and queues its processing task after commit; the
  queue is that process's memory and nothing consumes it, so what is measured is the
  ingestion alone (verify + store + queue), not the processing. Printed: requests,
  requests/s, p50/p95/max latency, answers (``ok`` / ``duplicate`` / other), and checked
  in the database: one ``WebhookEvent`` per distinct event (each id exactly once, all
  still ``received``) and no treasury ``Payment`` or ``Refund`` created by ingestion.
* Processing (smaller, in this process): localstripe (``python -m payments.fakestripe``)
  is started, ``PROCESSED`` payouts are created in it, their ``payout.paid`` events are
  stored through ``webhook_receive`` and ``webhook_event_process`` (the task's body: claim,
  re-read the payout from the API, record it) is timed for each, then run a second time
  on every event (a redelivered task): one ``Payout`` row per payout, none changed twice.
  Payment intents and charges are not processed here (that needs a parent paying
  invoices through the card flow; the tests cover it).

PASS/FAIL: no errors, every event stored exactly once, no double credit.
The web process keeps the development database settings (``DB_CONN_MAX_AGE=0``: one new
connection per request, like ``bench/booking_load.py``); ``DB_CONN_MAX_AGE=60`` in the
environment gives production's persistent connections.
"""

import hashlib
import hmac
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_webhooks"
SLUG = "encaissement"
HOST = "encaissement.localhost"
PUBLISHABLE = "pk_test_bench_webhooks"
SECRET_KEY = "sk_test_bench_webhooks_0001"
WEBHOOK_SECRET = "whsec_bench_webhooks_secret"
EVENTS = 3_000
DUPLICATES = 0.30  # re-sends, as a share of the distinct events
CLIENTS = 8
WORKERS, THREADS = 1, 4
PROCESSED = 300
PATH = "/paiement/stripe/webhook/"
TYPES = ["payment_intent.succeeded", "charge.refunded", "payout.paid"]
SEED = "parvis-bench-webhooks"

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ.setdefault("DEBUG", "false")
os.environ["PARVIS_DB_NAME"] = DB_NAME  # embedded server only; never the dev DB
# Queued tasks stay in the process that queued them (gunicorn's, this one's): never a
# real queue, never a worker.
os.environ["CELERY_BROKER_URL"] = "memory://"
warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


STRIPE_PORT = free_port()
os.environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{STRIPE_PORT}"  # localstripe, phase 2


def prepare():
    import django

    django.setup()

    from bench.common import bench_database, database_recreate, platform_prepare

    database_recreate(bench_database())
    platform_prepare()
    from core.journal import Actor
    from tenants.services import commune_onboard, payment_settings_update

    actor = Actor.system("bench")
    commune = commune_onboard(slug=SLUG, name="Encaissement", domain=HOST, actor=actor).commune
    payment_settings_update(commune=commune, actor=actor, enabled=True,
                            publishable_key=PUBLISHABLE, secret_key=SECRET_KEY,
                            webhook_secret=WEBHOOK_SECRET)
    return commune


def make_event(rng: random.Random, number: int) -> dict:
    kind = TYPES[number % len(TYPES)]
    now = int(time.time())
    if kind == "payment_intent.succeeded":
        obj = {"id": f"pi_bench{number:06d}", "object": "payment_intent", "status": "succeeded",
               "amount": rng.randint(500, 30_000), "currency": "eur",
               "metadata": {"commune": SLUG, "attempt": str(number)}}
    elif kind == "charge.refunded":
        obj = {"id": f"ch_bench{number:06d}", "object": "charge", "refunded": True,
               "amount": rng.randint(500, 30_000), "currency": "eur",
               "payment_intent": f"pi_bench{number:06d}"}
    else:
        obj = {"id": f"po_bench{number:06d}", "object": "payout", "status": "paid",
               "amount": rng.randint(10_000, 900_000), "currency": "eur",
               "arrival_date": now}
    return {"id": f"evt_bench{number:06d}", "object": "event", "type": kind, "created": now,
            "livemode": False, "data": {"object": obj}}


def deliveries_make() -> tuple[list[tuple[str, bytes]], int]:
    """Every delivery (event id, body), duplicates included (the same bytes), shuffled."""
    from tests.payments.stripe_fake import signed

    rng = random.Random(SEED)
    originals = []
    for number in range(EVENTS):
        body, _header = signed(make_event(rng, number), WEBHOOK_SECRET)
        originals.append((f"evt_bench{number:06d}", body))
    deliveries = originals + [rng.choice(originals) for _ in range(int(EVENTS * DUPLICATES))]
    rng.shuffle(deliveries)
    return deliveries, len(originals)


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "PARVIS_ENV": "dev", "DEBUG": "false", "PARVIS_DB_NAME": DB_NAME,
           "CELERY_BROKER_URL": "memory://"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(WORKERS),
         "--threads", str(THREADS), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=BASE_DIR, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def run_clients(port: int, deliveries):
    import requests

    url = f"http://127.0.0.1:{port}{PATH}"

    def sign(body: bytes) -> str:
        """Signed when sent, as Stripe signs each delivery (a re-send too: same body,
        fresh timestamp), so that a slow run never sends stale signatures."""
        timestamp = int(time.time())
        digest = hmac.new(WEBHOOK_SECRET.encode(), b"%d.%s" % (timestamp, body),
                          hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    latencies, answers, errors = [], Counter(), []
    lock = threading.Lock()
    shares = [deliveries[i::CLIENTS] for i in range(CLIENTS)]
    sessions = [requests.Session() for _ in range(CLIENTS)]
    # One warm-up request per session (a forged one: answered 400, nothing stored), so
    # that the first timed requests do not pay for gunicorn's imports and connections.
    for session in sessions:
        session.post(url, data=b"{}", headers={"Host": HOST, "Stripe-Signature": "t=1,v1=0",
                                               "Content-Type": "application/json"}, timeout=30)
    barrier = threading.Barrier(CLIENTS)

    def client(index):
        session = sessions[index]
        barrier.wait()
        for _event_id, body in shares[index]:
            header = sign(body)
            started = time.perf_counter()
            try:
                response = session.post(url, data=body, timeout=30, headers={
                    "Host": HOST, "Stripe-Signature": header,
                    "Content-Type": "application/json"})
            except Exception as exc:  # counted as an error, the run goes on
                with lock:
                    errors.append(repr(exc))
                    answers["exception"] += 1
                continue
            elapsed = time.perf_counter() - started
            text = response.text if response.status_code == 200 else ""
            with lock:
                latencies.append(elapsed)
                if response.status_code == 200 and text in ("ok", "duplicate"):
                    answers[text] += 1
                else:
                    answers[f"HTTP {response.status_code}"] += 1
                    errors.append(f"HTTP {response.status_code}: {response.content[:120]!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    for session in sessions:
        session.close()
    return wall, latencies, answers, errors


def ingestion_check(commune, deliveries) -> list[str]:
    """What the database says after ingestion; returns the failures."""
    from django.db.models import Count

    from payments.models import WebhookEvent
    from treasury.models import Payment, Refund

    expected = {event_id for event_id, _body in deliveries}
    failures = []
    with commune:
        stored = WebhookEvent.objects.count()
        ids = set(WebhookEvent.objects.values_list("event_id", flat=True))
        twice = list(WebhookEvent.objects.values("event_id").annotate(n=Count("id"))
                     .filter(n__gt=1).values_list("event_id", flat=True)[:3])
        statuses = dict(Counter(WebhookEvent.objects.values_list("status", flat=True)))
        payments, refunds = Payment.objects.count(), Refund.objects.count()
    print(f"  stored events   {stored} (distinct sent: {len(expected)}), statuses {statuses}")
    print(f"  treasury rows   {payments} payments, {refunds} refunds")
    if stored != len(expected) or ids != expected:
        failures.append(f"stored {stored} events for {len(expected)} distinct; "
                        f"missing {len(expected - ids)}, unexpected {len(ids - expected)}")
    if twice:
        failures.append(f"event ids stored more than once: {twice}")
    if payments or refunds:
        failures.append(f"ingestion created {payments} payments and {refunds} refunds")
    return failures


def fake_stripe():
    process = subprocess.Popen([sys.executable, "-m", "payments.fakestripe", "--port",
                                str(STRIPE_PORT)], cwd=BASE_DIR, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", STRIPE_PORT)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("localstripe did not start")


def processing_phase(commune) -> list[str]:
    """``PROCESSED`` payout.paid events: stored, then processed twice each, timed."""
    import requests

    from payments.models import EventStatus, Payout, WebhookEvent
    from payments.services.events import webhook_event_process, webhook_receive
    from tests.payments.stripe_fake import event, signed

    base = os.environ["STRIPE_API_BASE"]
    logging.getLogger("stripe").setLevel(logging.WARNING)  # one INFO line per API call
    process = fake_stripe()
    failures = []
    try:
        session = requests.Session()
        payouts = [session.post(f"{base}/v1/payouts", auth=(SECRET_KEY, ""), timeout=10,
                                data={"amount": 1000 + i, "currency": "eur"}).json()
                   for i in range(PROCESSED)]
        with commune:
            pks = []
            for payout in payouts:
                body, header = signed(event("payout.paid", {**payout, "status": "paid"}),
                                      WEBHOOK_SECRET)
                stored, created = webhook_receive(payload=body, signature=header)
                assert created
                pks.append(stored.pk)
            timings, outcomes = [], Counter()
            started = time.perf_counter()
            for pk in pks:
                one = time.perf_counter()
                outcomes[webhook_event_process(event_pk=pk).status] += 1
                timings.append(time.perf_counter() - one)
            wall = time.perf_counter() - started
            again = Counter(webhook_event_process(event_pk=pk).status for pk in pks)
            rows = Payout.objects.count()
            distinct = Payout.objects.values("payout_id").distinct().count()
            amounts = dict(Payout.objects.values_list("payout_id", "amount_cents"))
            processed = WebhookEvent.objects.filter(pk__in=pks, attempts=1).count()
    finally:
        process.terminate()
        process.wait(timeout=10)
    ms = sorted(x * 1000 for x in timings)
    print(f"Processing: {PROCESSED} payout.paid events, webhook_event_process in this process "
          f"(re-reads each payout from localstripe)")
    print(f"  throughput      {PROCESSED / wall:8.1f} events/s ({wall:.1f} s)")
    print(f"  latency p50     {statistics.median(ms):8.1f} ms")
    print(f"  latency p95     {ms[int(len(ms) * 0.95) - 1]:8.1f} ms")
    print(f"  latency max     {ms[-1]:8.1f} ms")
    print(f"  outcomes        {dict(outcomes)}; processed again: {dict(again)}")
    print(f"  payouts         {rows} rows, {distinct} distinct, {processed} events claimed once")
    if outcomes != {EventStatus.PROCESSED: PROCESSED}:
        failures.append(f"processing outcomes {dict(outcomes)}")
    if rows != PROCESSED or distinct != PROCESSED or processed != PROCESSED:
        failures.append(f"{rows} payout rows ({distinct} distinct, {processed} claimed once) "
                        f"for {PROCESSED} payouts")
    if any(amounts.get(p["id"]) != p["amount"] for p in payouts):
        failures.append("a payout was recorded with a wrong amount")
    return failures


def main() -> None:
    commune = prepare()
    deliveries, distinct = deliveries_make()
    port = free_port()
    server = start_server(port)
    try:
        wall, latencies, answers, errors = run_clients(port, deliveries)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    total = len(deliveries)
    print(f"Webhook ingestion: {total} signed deliveries ({distinct} distinct events + "
          f"{total - distinct} identical re-sends, shuffled), {CLIENTS} client threads, "
          f"gunicorn {WORKERS} worker × {THREADS} threads, CELERY_BROKER_URL=memory://")
    print(f"  throughput      {total / wall:8.1f} requests/s ({wall:.1f} s)")
    print(f"  latency p50     {statistics.median(ms):8.1f} ms")
    print(f"  latency p95     {ms[int(len(ms) * 0.95) - 1]:8.1f} ms")
    print(f"  latency max     {ms[-1]:8.1f} ms")
    print(f"  answers         {dict(sorted(answers.items()))}")
    print(f"  errors          {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    failures = [f"{len(errors)} errors"] if errors else []
    if answers["ok"] != distinct or answers["duplicate"] != total - distinct:
        failures.append(f"expected {distinct} ok and {total - distinct} duplicate, "
                        f"got {dict(answers)}")
    failures += ingestion_check(commune, deliveries)
    failures += processing_phase(commune)
    for failure in failures:
        print(f"  FAIL: {failure}")
    print(("PASS" if not failures else "FAIL") +
          ": no errors, every event stored exactly once, no double credit")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
