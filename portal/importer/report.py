"""What an import did: counts, rejected lines, warnings, and its text for people."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from portal.importer.messages import WARN_COLUMNS_IGNORED


@dataclass
class LineIssue:
    line: int
    messages: list[str]

    def __str__(self):
        return _("line %(line)d: %(reasons)s") % {
            "line": self.line, "reasons": "; ".join(self.messages)}


@dataclass
class ImportReport:
    filename: str
    dry_run: bool = False
    skip_invalid: bool = False
    counts: Counter = field(default_factory=Counter)
    rejected: list[LineIssue] = field(default_factory=list)
    warnings: list[LineIssue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0
    written: bool = False
    seconds: float = 0.0

    @property
    def has_errors(self) -> bool:
        return bool(self.rejected)

    @property
    def changed(self) -> bool:
        return any(self.counts[key] for key in (
            "families_created", "families_updated", "guardians_created", "guardians_updated",
            "children_created", "children_linked", "children_updated", "quotients_created"))

    def render(self) -> str:
        c = self.counts
        lines = [_("Import of %(file)s: %(rows)d lines read.") % {
            "file": self.filename or "-", "rows": self.rows}]
        if self.ignored_columns:
            lines.append(str(WARN_COLUMNS_IGNORED % {
                "columns": ", ".join(self.ignored_columns)}))
        lines += [
            _("Families: %(created)d created, %(updated)d completed, %(same)d unchanged.")
            % {"created": c["families_created"], "updated": c["families_updated"],
               "same": c["families_unchanged"]},
            _("Guardians: %(created)d created, %(updated)d completed, %(same)d already known.")
            % {"created": c["guardians_created"], "updated": c["guardians_updated"],
               "same": c["guardians_unchanged"]},
            _("Children: %(created)d created, %(linked)d merged with a known child and linked "
              "to one more household, %(updated)d completed, %(same)d already known.")
            % {"created": c["children_created"], "linked": c["children_linked"],
               "updated": c["children_updated"], "same": c["children_unchanged"]},
            _("Family quotients: %(created)d recorded, %(same)d already known.")
            % {"created": c["quotients_created"], "same": c["quotients_unchanged"]},
            _("Duplicate lines ignored: %(count)d.") % {"count": c["duplicates"]},
            _("Rejected lines: %(count)d.") % {"count": len(self.rejected)},
        ]
        lines += [f"  {issue}" for issue in self.rejected]
        if self.warnings:
            lines.append(_("Warnings: %(count)d.") % {"count": len(self.warnings)})
            lines += [f"  {issue}" for issue in self.warnings]
        if self.dry_run:
            lines.append(_("Dry run: nothing was saved."))
        elif self.written:
            lines.append(_("Saved."))
        else:
            lines.append(_("Nothing was saved."))
        return "\n".join(lines)
