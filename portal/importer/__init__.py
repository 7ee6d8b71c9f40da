"""Import of families from the CSV export of a commune's previous software.

The file format is documented in ``docs/import-format.md``. One row per child, the
family columns repeated on each of its children's rows. The import:

1. decodes the file (UTF-8 with or without BOM, else Windows-1252), finds the separator
   (``;``, ``,`` or tab) on the header line and maps the headers (case, accents and
   punctuation ignored, a few aliases per column);
2. checks every row and collects the rejected lines with their reasons;
3. loads the records it may meet (families by reference, guardians by e-mail, children by
   normalised name, quotients, facilities) in a handful of queries, and plans the changes
   in memory: a family reference already known completes that family, a guardian's e-mail
   already known reuses that guardian, a child with the same normalised name and birth
   date reuses that child (linked to each household it appears in);
4. writes everything with ``bulk_create``/``bulk_update`` and one journal entry per family
   changed plus one summary entry, in one transaction. With rejected lines nothing is
   written, unless ``skip_invalid`` (then the valid rows are).

Existing values win: an import fills empty fields, never overwrites what the commune's
agents have entered (differences are reported as warnings). So importing the same file
again changes nothing.
"""

import time

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.journal import Actor, journal_record
from portal.importer.columns import COLUMNS, header_key  # noqa: F401  (public)
from portal.importer.messages import *  # noqa: F403  (the messages callers and tests reuse)
from portal.importer.messages import ERROR_NOT_IN_COMMUNE
from portal.importer.plan import Planner
from portal.importer.report import ImportReport, LineIssue
from portal.importer.rows import ParsedRow, decode, parse_row, read_rows
from portal.models import Facility, FacilityKind
from portal.normalize import normalize_name


def families_import(
    *, data: bytes, actor: Actor, filename: str = "", dry_run: bool = False,
    skip_invalid: bool = False,
) -> ImportReport:
    """Import a legacy CSV export into the current commune (one transaction).

    Raises ``ValidationError`` when the file itself cannot be used (encoding, header);
    rejected lines are in the report. Nothing is written when a line is rejected, unless
    ``skip_invalid``; nothing at all with ``dry_run`` (the writes are rolled back).
    """
    if connection.schema_name == "public":
        raise RuntimeError(ERROR_NOT_IN_COMMUNE)
    started = time.monotonic()
    report = ImportReport(filename=filename, dry_run=dry_run, skip_invalid=skip_invalid)
    _columns, raw_rows, report.ignored_columns = read_rows(decode(data))
    report.rows = len(raw_rows)
    today = timezone.localdate()

    with transaction.atomic():
        schools = {}
        for facility in Facility.objects.order_by("name"):
            key = normalize_name(facility.name)
            if key not in schools or facility.kind == FacilityKind.SCHOOL_GROUP:
                schools[key] = facility
        parsed: list[ParsedRow] = []
        for raw in raw_rows:
            result = parse_row(raw, schools=schools, today=today)
            if isinstance(result, list):
                report.rejected.append(LineIssue(line=raw.line, messages=result))
            else:
                parsed.append(result)

        planner = Planner(parsed, report)
        for row in parsed:
            errors, quotient = planner.check(row)
            if errors:
                report.rejected.append(LineIssue(line=row.line, messages=errors))
                continue
            planner.apply(row, quotient)
        report.rejected.sort(key=lambda issue: issue.line)
        report.warnings.sort(key=lambda issue: issue.line)
        planner.count()

        if report.has_errors and not skip_invalid:
            report.seconds = time.monotonic() - started
            return report
        if report.changed:
            planner.write(actor, filename)
            journal_record(
                actor=actor, action="family.import", summary=_(
                    "Import of %(file)s: %(families)d families created, %(updated)d completed, "
                    "%(children)d children created, %(rejected)d lines rejected") % {
                    "file": filename, "families": report.counts["families_created"],
                    "updated": report.counts["families_updated"],
                    "children": report.counts["children_created"],
                    "rejected": len(report.rejected)},
                changes={"file": filename, "rows": report.rows, "counts": dict(report.counts),
                         "rejected_lines": [issue.line for issue in report.rejected]},
            )
        if dry_run:
            transaction.set_rollback(True)
        else:
            report.written = report.changed
    report.seconds = time.monotonic() - started
    return report
