"""Invoice PDFs rendered in worker processes, for big exports from the command line.

WeasyPrint keeps native memory after each document (≈ 0.24 MB per invoice PDF, not given
back by ``gc`` or ``malloc_trim``: docs/benchmarks.md), so 10,000 PDFs in one process
held gigabytes. Here the PDFs are rendered by a pool of fresh processes (one per core),
each replaced after ``per_process`` documents: memory stays bounded and the cores work
together. Each worker is a new interpreter (``spawn``) that sets Django up, connects to
the same database as the caller and enters the caller's commune; it reads committed data
only, so the invoices must be committed before (they are: only issued invoices print).

Not for a web request or a Celery task (a prefork Celery child may not start processes):
``export_helios --processes N`` uses it; elsewhere ``invoice_pdf`` renders in-process.
"""

import multiprocessing
import os

from django.db import connection

from config.env import database_url


def _worker_start(schema: str, url: str) -> None:
    # The caller's database by URL: a worker never starts or attaches to the embedded
    # server itself (several attaching at once race on its bookkeeping file).
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection as worker_connection

    from tenants.models import Commune

    worker_connection.set_tenant(Commune.objects.get(schema_name=schema))


def _render(invoice_id: int) -> tuple[int, bytes]:
    from treasury.models import Invoice
    from treasury.pdf import invoice_pdf

    return invoice_id, invoice_pdf(Invoice.objects.get(pk=invoice_id))


def invoice_pdfs(invoice_ids: list[int], *, processes: int,
                 per_process: int = 200) -> dict[int, bytes]:
    """The PDF of each invoice of the current commune, rendered by ``processes``
    workers, each replaced after ``per_process`` PDFs."""
    if not invoice_ids:
        return {}
    # multiprocessing.Pool, not ProcessPoolExecutor: the latter's max_tasks_per_child
    # hangs on Python 3.11 once workers are replaced (seen here with 400 PDFs).
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(processes, initializer=_worker_start,
                        initargs=(connection.schema_name, database_url(connection.settings_dict)),
                        maxtasksperchild=per_process)
    try:
        pdfs = dict(pool.imap_unordered(_render, invoice_ids, chunksize=4))
        pool.close()  # the workers leave cleanly (closing their connections)
    finally:
        pool.terminate()  # no-op after close(); kills them after an error
        pool.join()
    return pdfs
