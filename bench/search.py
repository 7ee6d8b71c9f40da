"""Benchmark: agents' family search with 10,000 families (target: p95 under 100 ms).

Run with ``PARVIS_ENV=dev .venv/bin/python bench/search.py``.

It works in its own database (``parvis_bench_search``, dropped and recreated; the
development database is never touched), onboards one commune and bulk-inserts
``FAMILIES`` households (about 1.9 guardians and 1.8 children each, French names with
accents, e-mails, phones typed in several formats, normalised search columns filled as
the services do), timing that generation. Then, after a warm-up, it runs the same mix
of agent queries (family name prefix or in full, child first name or first + last
name, e-mail or its beginning, phone in several formats, accents left out, a rare and
a very common name, nothing found) through:

* (a) the selector ``portal.selectors_agent.family_search`` alone, and
* (b) the whole agent search page ``/agents/familles/?q=…`` through Django's test
  ``Client`` on the commune's host, logged in as an agent (every middleware, the view,
  the template; no network, no web server),

and prints count, median, p95 and max in milliseconds per query kind and overall, the
EXPLAIN ANALYZE plan of the main statement of the slowest kind, and PASS/FAIL against
the target (p95 of both (a) and (b) under ``TARGET_MS``).

With ``DATABASE_URL`` set, that database is dropped and recreated instead: the run
refuses to start unless ``PARVIS_BENCH_DROP`` names it.
"""

import gc
import math
import os
import random
import statistics
import sys
import time
import warnings
from collections import defaultdict
from datetime import date
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_search"
HOST = "recherche.localhost"
FAMILIES = 10_000
QUERIES_PER_KIND = 40
WARMUP_PER_KIND = 5
TARGET_MS = 100.0
SEED = "parvis-bench-search"

sys.path.insert(0, str(BASE_DIR))
from bench.names import ADULT_NAMES, CHILD_NAMES, LAST_NAMES, RARE_NAMES  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ.setdefault("DEBUG", "false")  # as in production: no SQL kept in memory
os.environ["PARVIS_DB_NAME"] = DB_NAME  # embedded server only; never the dev DB
warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic

MAIL_DOMAINS = ["gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr", "sfr.fr",
                "wanadoo.fr", "yahoo.fr", "outlook.fr", "icloud.com"]


# --- Set-up ------------------------------------------------------------------------



def formatted_phone(rng: random.Random, digits: str) -> str:
    """'0612345678' as parents type it: spaced, dotted, bare or international."""
    pairs = [digits[i:i + 2] for i in range(0, 10, 2)]
    style = rng.random()
    if style < 0.6:
        return " ".join(pairs)
    if style < 0.75:
        return ".".join(pairs)
    if style < 0.9:
        return digits
    return "+33 " + digits[1] + " " + " ".join(pairs[1:])


def families_build(rng: random.Random):
    """Unsaved families, guardians and children (with the family each belongs to)."""
    from portal.models import Child, Family, Guardian
    from portal.normalize import normalize_email, normalize_name, normalize_phone

    weights = [1 / (rank + 10) for rank in range(len(LAST_NAMES))]
    rare = iter(RARE_NAMES)
    families, guardians, children = [], [], []
    used_emails, used_phones, used_children = set(), set(), set()
    for number in range(1, FAMILIES + 1):
        last = next(rare, None) if number % 700 == 0 else None
        last = last or rng.choices(LAST_NAMES, weights)[0]
        if rng.random() < 0.04:  # a double-barrelled household name
            last = f"{last}-{rng.choices(LAST_NAMES, weights)[0]}"
        family = Family(reference=f"F{number:05d}", name=last, search_name=normalize_name(last),
                        postcode="38360", city="Sassenage")
        families.append(family)
        for index in range(1 if rng.random() < 0.12 else 2):
            first = rng.choice(ADULT_NAMES)
            own_last = last if index == 0 or rng.random() < 0.5 else rng.choices(LAST_NAMES,
                                                                               weights)[0]
            local = normalize_name(first, own_last).replace(" ", ".")
            email = f"{local}@{rng.choice(MAIL_DOMAINS)}"
            while email in used_emails:
                email = f"{local}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
            used_emails.add(email)
            digits = f"0{rng.choice('67')}{rng.randint(0, 99_999_999):08d}"
            while digits in used_phones:
                digits = f"0{rng.choice('67')}{rng.randint(0, 99_999_999):08d}"
            used_phones.add(digits)
            phone = formatted_phone(rng, digits)
            guardians.append((family, Guardian(
                first_name=first, last_name=own_last, search_name=normalize_name(own_last, first),
                email=email, phone=phone, search_phone=normalize_phone(phone),
                is_payer=index == 0)))
            if index == 0 and rng.random() < 0.3:
                family.email, family.phone = normalize_email(email), phone
        for _ in range(rng.choices([1, 2, 3], [0.35, 0.5, 0.15])[0]):
            first = rng.choice(CHILD_NAMES)
            birth = date(rng.randint(2012, 2024), rng.randint(1, 12), rng.randint(1, 28))
            key = (normalize_name(last, first), birth)
            if key in used_children:
                continue
            used_children.add(key)
            children.append((family, Child(first_name=first, last_name=last,
                                           search_name=key[0], birth_date=birth)))
    return families, guardians, children


def prepare():
    """Fresh database, one commune, its families (timed) and a logged-in agent client."""
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.test import Client

    from accounts.models import AccountType, User
    from accounts.roles import Role
    from bench.common import bench_database, database_recreate, platform_prepare
    from core.journal import Actor
    from portal.models import Child, Family, Guardian, Membership
    from tenants.services import commune_onboard

    database_recreate(bench_database())
    platform_prepare()
    commune = commune_onboard(slug="recherche", name="Recherche-sur-Isère", domain=HOST,
                              actor=Actor.system("bench")).commune
    with commune:
        started = time.perf_counter()
        families, guardians, children = families_build(random.Random(SEED))
        built = time.perf_counter() - started
        with transaction.atomic():
            Family.objects.bulk_create(families, batch_size=2000)
            for family, guardian in guardians:
                guardian.family = family
            Guardian.objects.bulk_create([g for _f, g in guardians], batch_size=2000)
            Child.objects.bulk_create([c for _f, c in children], batch_size=2000)
            Membership.objects.bulk_create([Membership(family=f, child=c) for f, c in children],
                                           batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does soon after a big import
        elapsed = time.perf_counter() - started
        mix = query_mix(random.Random(SEED), families, guardians, children)
        print(f"Generated {len(families):,} families, {len(guardians):,} guardians, "
              f"{len(children):,} children in {elapsed:.1f} s (Python objects {built:.1f} s, "
              f"bulk inserts + VACUUM ANALYZE {elapsed - built:.1f} s)")
        agent = User.objects.create_user(email="agent@recherche.test", password=None,
                                         account_type=AccountType.AGENT)
        agent.groups.add(Group.objects.get(name=Role.SCHOOL_LIFE))
        client = Client(HTTP_HOST=HOST)
        client.force_login(agent)
    connection.set_schema_to_public()
    return commune, client, mix


# --- The query mix -----------------------------------------------------------------

def strip_accents(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def query_mix(rng: random.Random, families, guardians, children):
    """``{kind: [(query, expected family id or None), ...]}``: what agents type at the desk."""
    from portal.normalize import normalize_phone

    per_name = defaultdict(int)
    for family in families:
        per_name[family.name] += 1
    accented = [f for f in families if strip_accents(f.name) != f.name]
    rare = [f for f in families if per_name[f.name] == 1]
    mix = defaultdict(list)
    for _ in range(WARMUP_PER_KIND + QUERIES_PER_KIND):
        family, unaccented, single = (rng.choice(x) for x in (families, accented, rare))
        child_family, child = rng.choice(children)
        guardian_family, guardian = rng.choice(guardians)
        digits = normalize_phone(guardian.phone)
        spaced = " ".join(digits[i:i + 2] for i in range(0, 10, 2))
        email = guardian.email.upper() if rng.random() < 0.2 else guardian.email
        for kind, query, expected in [
            ("family name prefix", family.name[:rng.randint(3, 5)], None),
            ("family name", family.name, family.pk),
            ("child first name", child.first_name, None),
            ("child first + last", f"{child.first_name} {child.last_name}", child_family.pk),
            ("e-mail", email, guardian_family.pk),
            ("e-mail prefix", guardian.email.split("@")[0] + "@", guardian_family.pk),
            ("phone 06 12 34 56 78", spaced, guardian_family.pk),
            ("phone +33 6 12 ...", "+33 " + spaced[1:], guardian_family.pk),
            ("phone start 06 12 34", spaced[:8], guardian_family.pk),
            ("name without accents", strip_accents(unaccented.name).lower(), unaccented.pk),
            ("rare name", single.name, single.pk),
            ("very common name", rng.choice(["Martin", "martin", "Bernard", "THOMAS"]), None),
            ("no match", rng.choice(["Zyxwvut", "Kowalczykiewicz", "qqqq", "0999999999",
                                     "personne@nulle-part.example"]), None),
        ]:
            mix[kind].append((query, expected))
    return mix


# --- Measures ----------------------------------------------------------------------

def p95(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


def run(commune, client, mix):
    """Time (a) the selector and (b) the page for every query, warm-up excluded."""
    from django.db import connection

    from portal.selectors_agent import SEARCH_LIMIT, family_search

    selector, page, rows, misses = defaultdict(list), defaultdict(list), defaultdict(list), []
    for kind, queries in mix.items():
        for number, (query, expected) in enumerate(queries):
            with commune:
                started = time.perf_counter()
                found, truncated = family_search(query)
                elapsed = (time.perf_counter() - started) * 1000
            connection.set_schema_to_public()
            started = time.perf_counter()
            response = client.get("/agents/familles/", {"q": query})
            page_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                sys.exit(f"{kind} {query!r}: HTTP {response.status_code}")
            if number < WARMUP_PER_KIND:
                continue
            selector[kind].append(elapsed)
            page[kind].append(page_ms)
            rows[kind].append(len(found) + (1 if truncated else 0))
            shown = response.content.count(b"data-family=")
            if shown != len(found) or (expected is not None and len(found) < SEARCH_LIMIT
                                       and expected not in {f.pk for f in found}):
                misses.append((kind, query, len(found), shown))
    return selector, page, rows, misses


def explain(commune, query: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the main statement ``family_search(query)`` runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.selectors_agent import family_search

    with commune:
        with CaptureQueriesContext(connection) as captured:
            family_search(query)
        statement = next(q["sql"] for q in captured.captured_queries
                         if not q["sql"].startswith("SET search_path"))
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
            plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
    connection.set_schema_to_public()
    return f"  SQL: {statement}\n{plan}"


def report(selector, page, rows, misses, mix) -> bool:
    head = (f"{'query kind':<22} {'n':>4} {'found':>5} | {'selector median':>15} {'p95':>6} "
            f"{'max':>6} | {'page median':>11} {'p95':>6} {'max':>6}")
    print(head)
    print("-" * len(head))

    def line(label, sel, pag, found):
        print(f"{label:<22} {len(sel):>4} {statistics.median(found):>5.0f} | "
              f"{statistics.median(sel):>15.1f} {p95(sel):>6.1f} {max(sel):>6.1f} | "
              f"{statistics.median(pag):>11.1f} {p95(pag):>6.1f} {max(pag):>6.1f}")

    for kind in mix:
        line(kind, selector[kind], page[kind], rows[kind])
    print("-" * len(head))
    every = [sum(d.values(), []) for d in (selector, page, rows)]
    line("overall", *every)
    print("(ms; 'found' is the median number of families found, 51 meaning 'more than 50')")
    if misses:
        print(f"WARNING: {len(misses)} queries did not find the expected family or the page "
              f"showed another count, e.g. {misses[:3]}")
    return p95(every[0]) < TARGET_MS and p95(every[1]) < TARGET_MS and not misses


def main() -> None:
    commune, client, mix = prepare()
    gc.collect()  # drop the set-up's model objects before timing
    selector, page, rows, misses = run(commune, client, mix)
    print(f"\nFamily search, {FAMILIES:,} families, {QUERIES_PER_KIND} timed queries per kind "
          f"after {WARMUP_PER_KIND} warm-up, one process, no concurrency, "
          f"{os.cpu_count()} CPU cores\n")
    ok = report(selector, page, rows, misses, mix)
    slowest = max(mix, key=lambda kind: p95(selector[kind]))
    timings = selector[slowest]
    query = mix[slowest][WARMUP_PER_KIND + timings.index(max(timings))][0]
    print(f"\nPlan of the slowest kind ({slowest!r}), its slowest query {query!r}:")
    print(explain(commune, query))
    every_sel, every_page = sum(selector.values(), []), sum(page.values(), [])
    verdict = "PASS" if ok else "FAIL"
    print(f"\n{verdict}: p95 selector {p95(every_sel):.1f} ms, page {p95(every_page):.1f} ms "
          f"(target: under {TARGET_MS:.0f} ms with {FAMILIES:,} families)")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
