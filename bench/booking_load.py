"""Benchmark: booking throughput and latency with concurrent clients on a running server.

Run with ``make bench`` or ``PARVIS_ENV=dev .venv/bin/python bench/booking_load.py``.

It works in its own database (``parvis_bench_load``, dropped and recreated), onboards
one commune, creates ``CLIENTS`` parents with ``CHILDREN`` children each and a few
units with small capacities, then starts gunicorn on 127.0.0.1 and lets ``CLIENTS``
threads, each logged in as one parent (session + CSRF, like a browser), book random
days through ``POST /api/v1/reservations`` as fast as they can, ``REQUESTS_PER_CLIENT``
times each. It prints requests per second, latency percentiles, errors, and checks in
the database that no unit-day holds more bookings than its capacity.
"""

import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_load"
HOST = "charge.localhost"
CLIENTS = 20
CHILDREN = 5
REQUESTS_PER_CLIENT = 60
UNITS = 3
CAPACITY = 8
DAYS = 20
PASSWORD = "mot-de-passe-charge-2026"

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ["PARVIS_DB_NAME"] = DB_NAME


def prepare() -> tuple[list[str], list[int], list[int], list[date]]:
    import django

    django.setup()

    from bench.common import bench_database, database_recreate, platform_prepare

    database_recreate(bench_database())
    platform_prepare()
    from django.contrib.auth.hashers import make_password

    from accounts.models import AccountType, User
    from core.journal import Actor
    from portal.models import (
        Child,
        Facility,
        FacilityKind,
        Family,
        Guardian,
        Membership,
        Service,
        ServiceKind,
        Unit,
    )
    from tenants.services import commune_onboard

    commune = commune_onboard(slug="charge", name="Charge", domain=HOST,
                              actor=Actor.system("bench")).commune
    with commune:
        facility = Facility.objects.create(name="Groupe scolaire Charge",
                                           kind=FacilityKind.SCHOOL_GROUP)
        service = Service.objects.get(kind=ServiceKind.CANTEEN)
        units = [Unit.objects.create(service=service, facility=facility, name=f"Unité {i}",
                                     start_time=dtime(11, 30), end_time=dtime(13, 30),
                                     capacity=CAPACITY, weekdays="1,2,3,4,5", period="all_year")
                 for i in range(UNITS)]
        password = make_password(PASSWORD)
        emails, child_ids = [], []
        for number in range(CLIENTS):
            email = f"parent{number}@charge.test"
            user = User.objects.create(email=email, password=password,
                                       account_type=AccountType.PARENT)
            family = Family.objects.create(reference=f"C{number:04d}", name=f"Famille {number}",
                                           search_name=f"famille {number}")
            Guardian.objects.create(family=family, first_name="Parent", last_name=str(number),
                                    search_name=f"{number} parent", user=user)
            for index in range(CHILDREN):
                child = Child.objects.create(first_name=f"Enfant{index}", last_name=str(number),
                                             search_name=f"{number} enfant{index}",
                                             birth_date=date(2018, 1, 1 + index))
                Membership.objects.create(child=child, family=family)
                child_ids.append(child.pk)
            emails.append(email)
    start = date.today() + timedelta(days=30)
    days = [start + timedelta(days=i) for i in range(DAYS * 2)
            if (start + timedelta(days=i)).isoweekday() <= 5][:DAYS]
    return emails, [u.pk for u in units], child_ids, days


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "PARVIS_ENV": "dev", "DEBUG": "false", "PARVIS_DB_NAME": DB_NAME}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=BASE_DIR, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class Browser:
    """One parent's keep-alive connection with its cookies, like a phone's browser."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None):
        headers = {"Host": HOST, **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed the idle keep-alive connection: open a new one, as browsers do.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        return response.status, data

    def login(self, email: str) -> None:
        _status, page = self.request("GET", "/connexion/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = f"csrfmiddlewaretoken={token}&username={email}&password={PASSWORD}"
        status, _ = self.request("POST", "/connexion/", body, {
            "Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login failed for {email}: {status}")


def run_clients(port, emails, unit_ids, child_ids, days):
    latencies, statuses, errors = [], {}, []
    lock = threading.Lock()
    per_client = {email: child_ids[i * CHILDREN:(i + 1) * CHILDREN]
                  for i, email in enumerate(emails)}
    browsers = {}
    for email in emails:
        browsers[email] = Browser(port)
        browsers[email].login(email)
    barrier = threading.Barrier(len(emails))

    def client(email):
        rng = random.Random(email)
        browser = browsers[email]
        barrier.wait()
        for _ in range(REQUESTS_PER_CLIENT):
            payload = json.dumps({"child_id": rng.choice(per_client[email]),
                                  "unit_id": rng.choice(unit_ids),
                                  "date": rng.choice(days).isoformat()})
            started = time.perf_counter()
            try:
                status, data = browser.request("POST", "/api/v1/reservations", payload, {
                    "Content-Type": "application/json",
                    "X-CSRFToken": browser.cookies.get("parvis_csrftoken", "")})
            except Exception as exc:  # counted as an error, the run goes on
                with lock:
                    errors.append(repr(exc))
                continue
            elapsed = time.perf_counter() - started
            outcome = json.loads(data).get("status", str(status)) if status == 200 else str(status)
            with lock:
                latencies.append(elapsed)
                statuses[outcome] = statuses.get(outcome, 0) + 1
                if status != 200:
                    errors.append(f"HTTP {status}: {data[:120]!r}")

    threads = [threading.Thread(target=client, args=(email,)) for email in emails]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses, errors


def over_capacity() -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.unit_id, r.date, count(*), u.capacity FROM charge.portal_reservation r "
            "JOIN charge.portal_unit u ON u.id = r.unit_id WHERE r.status = 'booked' "
            "GROUP BY r.unit_id, r.date, u.capacity HAVING count(*) > u.capacity")
        return cursor.fetchall()


def main() -> None:
    emails, unit_ids, child_ids, days = prepare()
    port = free_port()
    server = start_server(port)
    try:
        wall, latencies, statuses, errors = run_clients(port, emails, unit_ids, child_ids, days)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = sorted(x * 1000 for x in latencies)
    total = len(ms) + len([e for e in errors if not e.startswith("HTTP")])
    print(f"Booking load: {CLIENTS} concurrent parents, {total} requests, "
          f"{UNITS} units × {DAYS} days × {CAPACITY} places, gunicorn 2 workers × 4 threads")
    print(f"  throughput      {total / wall:8.1f} requests/s ({wall:.1f} s)")
    print(f"  latency p50     {statistics.median(ms):8.1f} ms")
    print(f"  latency p95     {ms[int(len(ms) * 0.95) - 1]:8.1f} ms")
    print(f"  latency max     {ms[-1]:8.1f} ms")
    print(f"  outcomes        {dict(sorted(statuses.items()))}")
    print(f"  errors          {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    bad = over_capacity()
    print(f"  over capacity   {len(bad)} unit-days" + (f": {bad[:3]}" if bad else " (none)"))
    if bad or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
