"""Benchmark: the Hélios ORMC export of 10,000 overdue invoices, with and without PDFs.

Run with ``PARVIS_ENV=dev .venv/bin/python bench/helios.py`` (issue 6).

Set-up (in a child process, so that the peak memory printed is the export's): its own
database (``parvis_bench_helios``, dropped and recreated; the development database is
never touched), one commune onboarded with the standard template, its Hélios settings
complete (a product code per service), ``FAMILIES`` families each with a paying guardian,
an address and one invoice of February 2026 of 1 to 3 services (bulk inserts as drafts,
then issued by one set-based ``UPDATE``: numbers, issued on 3 March, due 2 April), nothing
paid. On 20 April 2026 every invoice is overdue and proposed.

Measured, in this process:

* (a) ``helios_bordereau_build`` without PDFs of every proposed invoice: selecting the
  proposed list, then the build (pieces, XML, ISO-8859-1 bytes, validation, saving), its
  phases timed inside the real run by wrapping the functions it calls;
* (b) the validation of that file alone: XSD (``HELIOS_XSD_DIR``, schema compile shown
  apart) and the NOTES §9 business rules;
* (c) the same with PDFs (``PES_PJ``): the invoice PDFs are rendered with WeasyPrint one
  by one, which is slow. A probe of ``PROBE`` PDFs estimates the full run; if it would
  take more than ``PDF_BUDGET`` seconds, ``PDF_SAMPLE`` invoices are exported instead and
  the figures for all of them are extrapolated (linearly: every piece costs the same);
* (d) file sizes, SQL statements, peak memory: ``ru_maxrss`` after each phase and the
  peak of Python allocations (``tracemalloc``) on replays in rolled-back transactions
  (no PDFs: all invoices; with PDFs: ``TRACE_PDF`` invoices).

PASS if both files are valid (XSD and business rules); no time target is set.

With ``DATABASE_URL`` set, that database is dropped and recreated instead: the run
refuses to start unless ``PARVIS_BENCH_DROP`` names it. ``--reuse`` skips the set-up
(the previous run's bordereaux were discarded: the invoices are proposed again);
``PARVIS_BENCH_FAMILIES`` / ``PARVIS_BENCH_PDF_SAMPLE`` shrink the run for a quick try;
``PARVIS_BENCH_PDF_BUDGET=3000`` measures every PDF (about 20 minutes on 2 cores).
"""

import gc
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "parvis_bench_helios"
SLUG = "helios"
HOST = "helios.localhost"
FAMILIES = int(os.environ.get("PARVIS_BENCH_FAMILIES", "10000"))  # smaller: a quick try
TODAY = date(2026, 4, 20)
PERIOD = date(2026, 2, 1)
PROBE = 20             # PDFs rendered to estimate the full run with PDFs
PDF_BUDGET = float(os.environ.get("PARVIS_BENCH_PDF_BUDGET", "540"))  # s: above, sampled
PDF_SAMPLE = int(os.environ.get("PARVIS_BENCH_PDF_SAMPLE", "1000"))
TRACE_PDF = 100
SEED = "parvis-bench-helios"

sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("PARVIS_ENV", "dev")
os.environ.setdefault("DEBUG", "false")  # as in production: no SQL kept in memory
os.environ["PARVIS_DB_NAME"] = DB_NAME  # embedded server only; never the dev DB
os.environ["CELERY_BROKER_URL"] = "memory://"
warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic

LAST_NAMES = ["Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois",
              "Moreau", "Lefèvre", "Leroy", "Roux", "Bertrand", "Morel", "Fournier", "Girard",
              "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Guérin", "François",
              "Noël", "Rivière", "Benoît", "Traoré", "Dos Santos", "Nguyen", "Œuvray"]
FIRST_NAMES = ["Sophie", "Julie", "Claire", "Céline", "Aurélie", "Émilie", "Hélène", "Fatima",
               "Karim", "Nicolas", "Julien", "Sébastien", "Jérôme", "Frédéric", "Mickaël",
               "François", "Gaël", "Zoë"]
STREETS = ["rue des Écoles", "avenue de la Gare", "rue Victor Hugo", "chemin des Vignes",
           "place de la Mairie", "allée des Œillets", "rue du Moulin", "impasse des Lilas",
           "boulevard Jean Jaurès", "rue de l'Église"]
SIRET = "21380474100014"




# --- Set-up (child process) --------------------------------------------------------

def data_create(rng: random.Random) -> tuple[int, int]:
    from django.db import connection

    from portal.models import Facility, FacilityKind, Family, Guardian, Service, Unit
    from portal.normalize import normalize_name
    from treasury.models import HeliosSettings, Invoice, InvoiceLine, NumberSequence

    services = list(Service.objects.order_by("pk")[:3])
    facility = Facility.objects.create(name="Groupe scolaire Jean Moulin",
                                       kind=FacilityKind.SCHOOL_GROUP)
    units = [Unit.objects.create(service=service, facility=facility, name=service.name,
                                 start_time="11:30", end_time="13:30", capacity=500)
             for service in services]
    prices = [450, 160, 210]
    families, guardians = [], []
    for number in range(1, FAMILIES + 1):
        last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
        family = Family(reference=f"F{number:05d}", name=last, search_name=normalize_name(last),
                        address_line1=f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
                        postcode="38360", city="Sassenage", residency="resident")
        families.append(family)
        guardians.append(Guardian(family=family, first_name=first, last_name=last,
                                  search_name=normalize_name(last, first),
                                  email=f"parent{number}@helios.test", is_payer=True))
    Family.objects.bulk_create(families, batch_size=2000)
    for guardian in guardians:
        guardian.family_id = guardian.family.pk
    Guardian.objects.bulk_create(guardians, batch_size=2000)
    invoices, lines = [], []
    for family, guardian in zip(families, guardians, strict=True):
        chosen = rng.sample(range(len(units)), rng.choice([1, 2, 2, 3]))
        rows = []
        for position, index in enumerate(sorted(chosen)):
            quantity = rng.randint(3, 18)
            rows.append(InvoiceLine(
                position=position, unit=units[index], kind="usage", period=PERIOD,
                quantity=quantity, unit_price_cents=prices[index],
                amount_cents=quantity * prices[index],
                label=f"{units[index].name} – février 2026 ({quantity} jours)"))
        invoice = Invoice(kind="invoice", status="draft", family=family, period=PERIOD,
                          total_cents=sum(row.amount_cents for row in rows),
                          debtor_name=f"{guardian.first_name} {guardian.last_name}",
                          debtor_address1=family.address_line1, debtor_postcode="38360",
                          debtor_city="Sassenage")
        invoices.append(invoice)
        lines.append(rows)
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    for invoice, rows in zip(invoices, lines, strict=True):
        for row in rows:
            row.invoice_id = invoice.pk
    InvoiceLine.objects.bulk_create([row for rows in lines for row in rows], batch_size=5000)
    issued_at = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    with connection.cursor() as cursor:  # issued as a run issues them: one statement
        cursor.execute(
            "UPDATE treasury_invoice i SET status = 'issued', year = 2026, sequence = s.rn, "
            "number = 'F2026-' || lpad(s.rn::text, 5, '0'), issue_date = %s, issued_at = %s, "
            "due_date = %s FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn "
            "FROM treasury_invoice WHERE status = 'draft') s WHERE i.id = s.id",
            [date(2026, 3, 3), issued_at, date(2026, 4, 2)])
    NumberSequence.objects.update_or_create(series="F", year=2026,
                                            defaults={"last_number": FAMILIES})
    row = HeliosSettings.get()
    for name, value in {"id_post": "038001", "id_coll": SIRET, "cod_col": "021",
                        "cod_bud": "00", "budget_label": "Régie périscolaire",
                        "regie_id": "REG38", "product_codes": {
                            str(pk): f"S{index:03d}" for index, pk in enumerate(
                                Service.objects.order_by("pk").values_list("pk", flat=True),
                                1)}}.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return len(invoices), sum(len(rows) for rows in lines)


def setup() -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    from bench.common import bench_database, database_recreate, platform_prepare
    from core.journal import Actor
    from tenants.services import commune_onboard

    started = time.perf_counter()
    database_recreate(bench_database())
    platform_prepare()
    commune = commune_onboard(slug=SLUG, name="Hélios-sur-Isère", domain=HOST,
                              actor=Actor.system("bench")).commune
    platform = time.perf_counter() - started
    with commune:
        started = time.perf_counter()
        with transaction.atomic():
            invoices, lines = data_create(random.Random(SEED))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"Set-up: database and commune {platform:.1f} s; {FAMILIES:,} families, "
          f"{invoices:,} issued invoices, {lines:,} lines, Hélios settings: "
          f"{time.perf_counter() - started:.1f} s (bulk_create + one UPDATE)")
    connection.close()


# --- Measures (this process) -------------------------------------------------------

def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


class StatementCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def phase_timers(timers: dict[str, float]):
    """Time, inside the real build, the functions ``helios_bordereau_build`` calls."""
    import treasury.pdf as pdf
    import treasury.services.helios as service
    from bench.common import timed_calls
    from treasury.helios import build

    return timed_calls(timers, [
        (service, "_service_amounts", "service amounts"), (service, "_payers", "payers"),
        (service, "_invoice_piece", "pieces (incl. PDFs)"),
        (pdf, "invoice_pdf", "PDF total"), (pdf, "_render", "PDF WeasyPrint+template"),
        (build, "build_file", "XML build_file (incl. pack)"),
        (build, "_pack", "gzip+base64 of PDFs"),
        (service, "file_errors", "validation (XSD+rules)")])


def export(invoices, *, with_pdf: bool, actor):
    """One real build, timed by phase, with its SQL statements counted."""
    from django.db import connection

    from treasury.services.helios import helios_bordereau_build

    timers: dict[str, float] = defaultdict(float)
    counter = StatementCounter()
    gc.collect()
    started = time.perf_counter()
    with phase_timers(timers), connection.execute_wrapper(counter):
        bordereau = helios_bordereau_build(invoices=invoices, with_pdf=with_pdf, actor=actor,
                                           today=TODAY)
    return bordereau, time.perf_counter() - started, timers, counter.count


def validate_alone(content: bytes, nature_code: str) -> dict:
    from django.conf import settings

    from treasury.helios import checks

    result = {}
    checks._schema.cache_clear()
    started = time.perf_counter()
    checks._schema(str(Path(settings.HELIOS_XSD_DIR) / checks.ALLER_XSD))
    result["schema compile"] = time.perf_counter() - started
    started = time.perf_counter()
    xsd = checks.schema_errors(content, xsd_dir=settings.HELIOS_XSD_DIR)
    result["XSD"] = time.perf_counter() - started
    started = time.perf_counter()
    rules = checks.business_errors(content, nature_code=nature_code)
    result["rules"] = time.perf_counter() - started
    result["errors"] = xsd + rules
    return result


def traced_peak(invoices, *, with_pdf: bool, actor) -> float:
    """Peak of Python allocations (MB) of a build replayed in a rolled-back transaction."""
    from django.db import transaction

    from treasury.services.helios import helios_bordereau_build

    gc.collect()
    tracemalloc.start()
    try:
        with transaction.atomic():
            helios_bordereau_build(invoices=invoices, with_pdf=with_pdf, actor=actor,
                                   today=TODAY)
            transaction.set_rollback(True)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def mb(size: int) -> str:
    return f"{size:,} B ({size / 2**20:.1f} MB)"


TOP_LEVEL = ("service amounts", "payers", "pieces (incl. PDFs)", "XML build_file (incl. pack)",
             "validation (XSD+rules)")


def print_phases(total: float, timers: dict, scale: float = 1.0) -> None:
    timers = {**timers, "other (re-select, save, log)": total - sum(
        timers[key] for key in TOP_LEVEL)}
    for key, seconds in timers.items():
        extra = f"  (×{scale:g} → {seconds * scale:7.1f} s)" if scale != 1 else ""
        print(f"    {key:<30} {seconds:8.2f} s{extra}")
    print(f"    {'total':<30} {total:8.2f} s" + (
        f"  (×{scale:g} → {total * scale:7.1f} s)" if scale != 1 else ""))


def measure(commune) -> bool:
    from core.journal import Actor
    from treasury.models import BordereauStatus, HeliosSettings
    from treasury.pdf import invoice_pdf
    from treasury.selectors_helios import helios_invoices_proposed
    from treasury.services.helios import helios_bordereau_discard

    actor = Actor.system("bench")
    ok = True
    with commune:
        nature = HeliosSettings.get().key_nature_code
        print(f"ru_maxrss before the measures: {rss_mb():.0f} MB")
        # (a) without PDFs
        started = time.perf_counter()
        proposed = list(helios_invoices_proposed(today=TODAY))
        select = time.perf_counter() - started
        bordereau, seconds, timers, statements = export(proposed, with_pdf=False, actor=actor)
        rss_a = rss_mb()
        size_a = len(bytes(bordereau.content))
        valid_a = bordereau.status == BordereauStatus.VALID
        print(f"\n(a) ORMC bordereau of {len(proposed):,} invoices without PDFs: "
              f"{bordereau.status}, {bordereau.piece_count:,} pieces, "
              f"{bordereau.total_cents / 100:,.2f} EUR")
        print(f"    {'select proposed list':<30} {select:8.2f} s ({len(proposed):,} invoices)")
        print_phases(seconds, timers)
        print(f"    SQL statements in the build: {statements} (for {len(proposed):,} "
              f"invoices)")
        print(f"    file: {mb(size_a)}; ru_maxrss {rss_a:.0f} MB")
        if not valid_a:
            print("    errors:", bordereau.errors[:2000])
        # (b) validation alone
        check_a = validate_alone(bytes(bordereau.content), nature)
        print(f"\n(b) validation of that file alone: schema compile "
              f"{check_a['schema compile']:.2f} s, XSD {check_a['XSD']:.2f} s, business "
              f"rules {check_a['rules']:.2f} s; errors: {len(check_a['errors'])}")
        helios_bordereau_discard(bordereau=bordereau, actor=actor)
        peak_a = traced_peak(proposed, with_pdf=False, actor=actor)
        print(f"    tracemalloc peak of a replay of (a): {peak_a:.0f} MB")

        # (c) with PDFs: probe, then all or a sample
        started = time.perf_counter()
        pdf_sizes = [len(invoice_pdf(invoice)) for invoice in proposed[:PROBE]]
        probe = (time.perf_counter() - started) / PROBE
        estimate = probe * len(proposed)
        count = len(proposed) if estimate <= PDF_BUDGET else min(PDF_SAMPLE, len(proposed))
        scale = len(proposed) / count
        print(f"\n(c) probe: {PROBE} invoice PDFs at {probe * 1000:.0f} ms each "
              f"(avg {sum(pdf_sizes) / PROBE / 1024:.1f} KiB): {len(proposed):,} would take "
              f"~{estimate:.0f} s -> "
              + ("measured on all of them" if count == len(proposed) else
                 f"measured on {count:,} invoices, extrapolated ×{scale:g}"))
        sample = proposed[:count]
        bordereau, seconds_c, timers_c, statements_c = export(sample, with_pdf=True,
                                                              actor=actor)
        rss_c = rss_mb()
        content_c = bytes(bordereau.content)
        size_c = len(content_c)
        valid_c = bordereau.status == BordereauStatus.VALID
        print(f"    ORMC bordereau of {count:,} invoices with PDFs: {bordereau.status}")
        print_phases(seconds_c, timers_c, scale)
        print(f"    SQL statements in the build: {statements_c} (for {count:,} invoices: "
              f"{statements_c / count:.1f} per invoice)")
        print(f"    file: {mb(size_c)}" + (
            f" (×{scale:g} → ~{size_c * scale / 2**20:,.0f} MB)" if scale != 1 else "")
            + f"; ru_maxrss {rss_c:.0f} MB")
        if not valid_c:
            print("    errors:", bordereau.errors[:2000])
        check_c = validate_alone(content_c, nature)
        print(f"    validation alone: XSD {check_c['XSD']:.2f} s, rules {check_c['rules']:.2f} s;"
              f" errors: {len(check_c['errors'])}")
        del content_c
        helios_bordereau_discard(bordereau=bordereau, actor=actor)
        peak_c = traced_peak(proposed[:TRACE_PDF], with_pdf=True, actor=actor)
        print(f"    tracemalloc peak of a replay with PDFs of {TRACE_PDF} invoices: "
              f"{peak_c:.0f} MB")

        ok = valid_a and valid_c and not check_a["errors"] and not check_c["errors"]
        pdf_all = seconds_c * scale
        print("\n(d) summary")
        print(f"    {'':<34} {'seconds':>9} {'file':>14} {'ru_maxrss':>10}")
        print(f"    {f'without PDFs, {len(proposed):,} (a)':<34} {select + seconds:9.1f} "
              f"{size_a / 2**20:11.1f} MB {rss_a:7.0f} MB")
        print(f"    {'  of which validation (b)':<34} "
              f"{timers['validation (XSD+rules)']:9.1f}")
        label = f"with PDFs, {count:,}" + (" (measured)" if scale != 1 else "")
        print(f"    {label:<34} {seconds_c:9.1f} {size_c / 2**20:11.1f} MB {rss_c:7.0f} MB")
        if scale != 1:
            print(f"    {f'with PDFs, {len(proposed):,} (extrapolated)':<34} {pdf_all:9.0f} "
                  f"{size_c * scale / 2**20:11.0f} MB {'?':>10}")
        print(f"    tracemalloc peak: (a) {peak_a:.0f} MB, with PDFs ({TRACE_PDF}) "
              f"{peak_c:.0f} MB")
        print(f"the files validate (XSD + business rules): {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    if "--setup" in sys.argv:
        setup()
        return
    import django

    django.setup()
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):  # per-page INFO lines
        logging.getLogger(name).setLevel(logging.WARNING)
    from bench.common import bench_database

    bench_database()
    if "--reuse" not in sys.argv:
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--setup"], check=True)
        print(f"Set-up total {time.perf_counter() - started:.1f} s")
    from tenants.models import Commune

    commune = Commune.objects.get(schema_name=SLUG)
    if not measure(commune):
        sys.exit(1)


if __name__ == "__main__":
    main()
