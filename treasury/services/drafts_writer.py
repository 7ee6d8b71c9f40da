"""Writing the drafts of an invoicing run to PostgreSQL, batch by batch.

Each batch of families is its own transaction (the page's progress bar moves at each
commit) and takes four statements whatever its size: the invoice ids (from the table's
sequence), ``COPY`` of the invoices, ``COPY`` of their lines and the run's progress. The
invoices go first so that the database checks the lines' invoices once, when their
``COPY`` ends (treasury 0007). The lines of a batch are not sent at once: the caller
prices the next batch and calls ``pace()`` after each family, which sends the lines of
one more family of the previous batch, so that PostgreSQL stores them while Python
prices (sending them all at once would only wait for the server). The next ``add`` (or
the end of the ``drafts_writer`` block) sends what is left, ends the ``COPY`` and
commits. On an error the open batch is rolled back.
"""

import sys
from contextlib import ExitStack, contextmanager
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from treasury.models import InvoiceStatus
from treasury.services.drafts import REGULARISATION, Draft

_IDS_SQL = ("SELECT nextval(pg_get_serial_sequence('treasury_invoice', 'id')) "
            "FROM generate_series(1, %s)")
_INVOICE_COPY = ("COPY treasury_invoice (id, kind, status, family_id, run_id, period, number, "
                 "total_cents, reason, debtor_name, debtor_address1, debtor_address2, "
                 "debtor_postcode, debtor_city, created_at) FROM STDIN")
_LINE_COPY = ("COPY treasury_invoiceline (invoice_id, position, child_id, unit_id, tariff_id, "
              "kind, period, base_kind, bracket, quantity, unit_price_cents, amount_cents, "
              "label) FROM STDIN")
_PROGRESS_SQL = ("UPDATE treasury_invoicingrun SET progress_done = progress_done + %s "
                 "WHERE id = %s")


class DraftsWriter:
    """Use through ``drafts_writer``: ``add(drafts, families)`` per batch, ``pace()`` after
    each family priced."""

    def __init__(self, run_id: int, period: date):
        self.run_id, self.period = run_id, period.isoformat()
        self._transaction: ExitStack | None = None  # atomic block and cursor
        self._cursor = None  # the open batch's cursor
        self._copy: ExitStack | None = None  # the lines' COPY
        self._write_row = None
        self._pending: list[tuple[int, Draft]] = []  # (invoice id, draft) not sent yet
        self._families = 0

    def add(self, drafts: list[Draft], families: int) -> None:
        """Commit the open batch, then open one for ``drafts`` (a batch of ``families``)."""
        self.finish()
        self._transaction, self._families = ExitStack(), families
        self._transaction.enter_context(transaction.atomic())
        self._cursor = cursor = self._transaction.enter_context(connection.cursor())
        if not drafts:
            return
        cursor.execute(_IDS_SQL, [len(drafts)])
        self._pending = list(zip([row[0] for row in cursor.fetchall()], drafts, strict=True))
        draft, run_id, period, now = str(InvoiceStatus.DRAFT), self.run_id, self.period, \
            timezone.now()
        with connection.wrap_database_errors, cursor.copy(_INVOICE_COPY) as copy:
            for invoice_id, each in self._pending:
                debtor = each.debtor
                copy.write_row((invoice_id, each.kind, draft, each.family_id, run_id, period,
                                "", each.total_cents, "", debtor.name[:310], debtor.address1,
                                debtor.address2, debtor.postcode, debtor.city, now))
        self._copy = ExitStack()
        self._write_row = self._copy.enter_context(cursor.copy(_LINE_COPY)).write_row
        self._pending.reverse()  # pace() pops from the end

    def pace(self) -> None:
        """Send the lines of one more family of the open batch, if any are left."""
        if self._pending:
            self._send(*self._pending.pop())

    def _send(self, invoice_id: int, each: Draft) -> None:
        write_row, period, sign = self._write_row, self.period, each.sign
        for position, line in enumerate(each.lines):
            kind = str(line.kind)
            write_row((invoice_id, position, line.child_id, line.unit_id, line.tariff_id,
                       kind, period, line.base_kind if kind == REGULARISATION else "",
                       line.bracket, sign * line.quantity, line.unit_price_cents,
                       sign * line.amount_cents, line.label[:255]))

    def finish(self) -> None:
        """Send what is left of the open batch, end its lines' COPY (the database checks
        them) and commit."""
        if self._transaction is None:
            return
        try:
            while self._pending:
                self._send(*self._pending.pop())
            if self._copy is not None:
                copy, self._copy = self._copy, None
                with connection.wrap_database_errors:  # Django's IntegrityError, as the ORM
                    copy.close()
            self._cursor.execute(_PROGRESS_SQL, [self._families, self.run_id])
        except BaseException:
            self.abort()
            raise
        done, self._transaction = self._transaction, None
        done.close()  # commit

    def abort(self) -> None:
        """Roll the open batch back (called while an exception is being handled)."""
        error = sys.exc_info()
        copy, self._copy = self._copy, None
        done, self._transaction = self._transaction, None
        self._pending = []
        try:
            if copy is not None:
                copy.__exit__(*error)
        finally:
            if done is not None:
                done.__exit__(*error)


@contextmanager
def drafts_writer(*, run_id: int, period: date):
    """A ``DraftsWriter`` whose last batch is committed at the end of the block, or rolled
    back if the block raises."""
    writer = DraftsWriter(run_id, period)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.finish()
