"""Matching rows with known records in memory, then writing everything in bulk."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from core.journal import Actor, journal_entry_build
from core.models import ActionLog
from portal.importer.columns import (
    FAMILY_COLUMNS,
    column_label,
)
from portal.importer.messages import (
    ROW_EMAIL_OTHER_FAMILY,
    ROW_QF_OVERLAP,
    WARN_DUPLICATE_CHILD,
    WARN_EXISTING_VALUE_KEPT,
    WARN_FAMILY_VALUE_DIFFERS,
    WARN_QF_DIFFERS,
)
from portal.importer.report import (
    ImportReport,
    LineIssue,
)
from portal.importer.rows import (
    GuardianRow,
    ParsedRow,
    QuotientRow,
)
from portal.models import (
    Child,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
)
from portal.normalize import normalize_name, normalize_phone
from portal.residency import resident_places
from portal.services.quotients import quotient_overlap


@dataclass
class FamilyPlan:
    family: Family
    is_new: bool
    line: int
    value_lines: dict[str, int] = field(default_factory=dict)
    changed_fields: dict[str, list] = field(default_factory=dict)
    guardians: list[Guardian] = field(default_factory=list)
    quotients: list = field(default_factory=list)         # FamilyQuotient, known and new
    quotient_lines: dict[int, int] = field(default_factory=dict)  # id(new quotient) -> line
    new_guardians: list[str] = field(default_factory=list)
    new_children: list[str] = field(default_factory=list)
    linked_children: list[str] = field(default_factory=list)
    new_quotients: list[dict] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return bool(self.is_new or self.changed_fields or self.new_guardians
                    or self.new_children or self.linked_children or self.new_quotients)


@dataclass
class ChildPlan:
    child: Child
    is_new: bool
    families: dict[str, int]  # references of households it is in (from this file) -> line
    changed: bool = False
    links: int = 0            # households it was added to by this import


class Planner:
    """Holds the known records and the changes to write, all in memory."""

    def __init__(self, rows: list[ParsedRow], report: ImportReport):
        self.report = report
        self.places = resident_places()
        references = {row.reference for row in rows}
        emails = {g.email for row in rows for g in row.guardians if g.email}
        names = {row.child["search_name"] for row in rows}

        self.families: dict[str, FamilyPlan] = {
            family.reference: FamilyPlan(family=family, is_new=False, line=0)
            for family in Family.objects.filter(reference__in=references)
        }
        by_id = {plan.family.pk: plan for plan in self.families.values()}
        self.guardian_email: dict[str, Guardian] = {}
        self.guardian_family: dict[int, str] = {}   # id(guardian) -> family reference
        guardians = (Guardian.objects.annotate(lower_email=Lower("email"))
                     .filter(Q(family__in=list(by_id)) | Q(lower_email__in=emails))
                     .select_related("family"))
        for guardian in guardians:
            self._remember_guardian(guardian, guardian.family.reference)
            if guardian.family_id in by_id:
                by_id[guardian.family_id].guardians.append(guardian)
        for quotient in FamilyQuotient.objects.filter(family__in=list(by_id)):
            by_id[quotient.family_id].quotients.append(quotient)

        self.children: dict[tuple, ChildPlan] = {}
        known = list(Child.objects.filter(search_name__in=names))
        self.memberships = set(Membership.objects.filter(child__in=known)
                               .values_list("child_id", "family_id"))
        for child in known:
            self.children[(child.search_name, child.birth_date)] = ChildPlan(
                child=child, is_new=False, families={})
        self.new_memberships: list[Membership] = []
        self.known_quotients_seen: set[int] = set()   # pk of quotients the file repeats
        self.known_guardians_seen: set[int] = set()   # pk of guardians the file repeats

    def _remember_guardian(self, guardian: Guardian, reference: str) -> None:
        if guardian.email:
            self.guardian_email[guardian.email.lower()] = guardian
        self.guardian_family[id(guardian)] = reference

    def check(self, row: ParsedRow) -> tuple[list[str], QuotientRow | None]:
        """Reasons to reject ``row`` given what is known and planned, and the quotient
        still to record for it. Nothing changes here: a rejected row leaves no trace."""
        errors, warning, seen = [], None, None
        for guardian in row.guardians:
            owner = self.guardian_email.get(guardian.email)
            if owner is not None and self.guardian_family[id(owner)] != row.reference:
                errors.append(ROW_EMAIL_OTHER_FAMILY % {
                    "email": guardian.email, "reference": self.guardian_family[id(owner)]})
        quotient = row.quotient
        plan = self.families.get(row.reference)
        if quotient is not None and plan is not None:
            same = next((q for q in plan.quotients
                         if (q.value, q.source, q.valid_from, q.valid_until) == quotient.key),
                        None)
            clash = quotient_overlap(plan.quotients, valid_from=quotient.valid_from,
                                     valid_until=quotient.valid_until)
            if same is not None:
                seen, quotient = same.pk, None
            elif clash is not None and id(clash) in plan.quotient_lines:  # from this file
                warning = WARN_QF_DIFFERS % {"reference": row.reference,
                                             "line": plan.quotient_lines[id(clash)]}
                quotient = None
            elif clash is not None:
                errors.append(ROW_QF_OVERLAP % {
                    "reference": row.reference,
                    "start": clash.valid_from.strftime("%d/%m/%Y"),
                    "end": clash.valid_until.strftime("%d/%m/%Y") if clash.valid_until else "…"})
        if errors:
            return [str(error) for error in errors], None
        if warning is not None:
            self._warn(row.line, warning)
        if seen is not None:
            self.known_quotients_seen.add(seen)
        return [], quotient

    def _warn(self, line: int, message) -> None:
        self.report.warnings.append(LineIssue(line=line, messages=[str(message)]))

    def apply(self, row: ParsedRow, quotient: QuotientRow | None) -> None:
        plan = self._family(row)
        for data in row.guardians:
            self._guardian(plan, data, row.line)
        self._child(plan, row)
        if quotient is not None:
            new = FamilyQuotient(family=plan.family, value=quotient.value,
                                 source=quotient.source, valid_from=quotient.valid_from,
                                 valid_until=quotient.valid_until)
            plan.quotients.append(new)
            plan.quotient_lines[id(new)] = row.line
            plan.new_quotients.append({
                "value": quotient.value, "source": quotient.source,
                "valid_from": quotient.valid_from.isoformat(),
                "valid_until": quotient.valid_until.isoformat() if quotient.valid_until
                else None})

    def _family(self, row: ParsedRow) -> FamilyPlan:
        data = row.family
        plan = self.families.get(row.reference)
        if plan is None:
            name = data["family_name"]
            family = Family(
                reference=row.reference, name=name, search_name=normalize_name(name),
                address_line1=data["address_line1"], address_line2=data["address_line2"],
                postcode=data["postcode"], city=data["city"],
                residency=self.places.residency_for(data["postcode"], data["city"]),
            )
            plan = self.families[row.reference] = FamilyPlan(family=family, is_new=True,
                                                             line=row.line)
            plan.value_lines = {key: row.line for key in (*FAMILY_COLUMNS, "family_name")
                                if data.get(key)}
            return plan
        family = plan.family
        if not plan.line:
            plan.line = row.line
        columns = [*FAMILY_COLUMNS, "family_name"] if row.name_given else list(FAMILY_COLUMNS)
        address_filled = False
        for key in columns:
            attribute = "name" if key == "family_name" else key
            new, old = data[key], getattr(family, attribute)
            if not new or new == old:
                continue
            if not old:
                setattr(family, attribute, new)
                plan.value_lines[key] = row.line
                if not plan.is_new:
                    plan.changed_fields[attribute] = ["", new]
                    address_filled = address_filled or key in ("postcode", "city")
            elif normalize_name(new) != normalize_name(old):
                label = column_label(key)
                if key in plan.value_lines:
                    self._warn(row.line, WARN_FAMILY_VALUE_DIFFERS % {
                        "column": label, "reference": row.reference,
                        "line": plan.value_lines[key], "kept": old})
                else:
                    self._warn(row.line, WARN_EXISTING_VALUE_KEPT % {
                        "column": label, "reference": row.reference, "kept": old})
        if address_filled and not family.residency_overridden:
            residency = self.places.residency_for(family.postcode, family.city)
            if residency != family.residency:
                plan.changed_fields["residency"] = [family.residency, residency]
                family.residency = residency
        if "name" in plan.changed_fields:
            family.search_name = normalize_name(family.name)
        return plan

    def _guardian(self, plan: FamilyPlan, data: GuardianRow, line: int) -> None:
        guardian = self.guardian_email.get(data.email) if data.email else None
        if guardian is None:
            guardian = next((g for g in plan.guardians if g.search_name == data.search_name),
                            None)
        if guardian is None:
            guardian = Guardian(
                family=plan.family, civility=data.civility,
                first_name=data.first_name, last_name=data.last_name,
                search_name=data.search_name, email=data.email, phone=data.phone,
                search_phone=normalize_phone(data.phone),
                is_payer=data.number == 1 and plan.is_new
                and not any(g.is_payer for g in plan.guardians),
            )
            guardian._import_new = True
            plan.guardians.append(guardian)
            plan.new_guardians.append(str(guardian))
            self._remember_guardian(guardian, plan.family.reference)
            return
        if guardian.pk is not None:
            self.known_guardians_seen.add(guardian.pk)
        filled = False
        if data.email and not guardian.email:
            guardian.email = data.email
            self._remember_guardian(guardian, plan.family.reference)
            filled = True
        if data.phone and not guardian.phone:
            guardian.phone, guardian.search_phone = data.phone, normalize_phone(data.phone)
            filled = True
        if data.civility and not guardian.civility:
            guardian.civility = data.civility
            filled = True
        if filled and not getattr(guardian, "_import_new", False):
            guardian._import_changed = True

    def _child(self, plan: FamilyPlan, row: ParsedRow) -> None:
        data = row.child
        key = (data["search_name"], data["birth_date"])
        reference = plan.family.reference
        child_plan = self.children.get(key)
        if child_plan is None:
            child = Child(first_name=data["first_name"], last_name=data["last_name"],
                          search_name=data["search_name"], birth_date=data["birth_date"],
                          school=data["school"], class_level=data["class_level"])
            child_plan = self.children[key] = ChildPlan(child=child, is_new=True, families={})
        child = child_plan.child
        if reference in child_plan.families:
            self.report.counts["duplicates"] += 1
            self._warn(row.line, WARN_DUPLICATE_CHILD % {
                "name": str(child), "reference": reference,
                "line": child_plan.families[reference]})
            return
        child_plan.families[reference] = row.line
        if not child_plan.is_new:
            if data["school"] and not child.school_id:
                child.school = data["school"]
                child_plan.changed = True
            if data["class_level"] and not child.class_level:
                child.class_level = data["class_level"]
                child_plan.changed = True
        if not plan.is_new and (child.pk, plan.family.pk) in self.memberships:
            return
        self.new_memberships.append(Membership(child=child, family=plan.family))
        child_plan.links += 1
        if child_plan.is_new and len(child_plan.families) == 1:
            plan.new_children.append(str(child))
        else:
            plan.linked_children.append(str(child))
            self.report.counts["children_linked"] += 1

    # -- results ----------------------------------------------------------------------------
    def count(self) -> None:
        counts = self.report.counts
        for plan in self.families.values():
            if plan.is_new:
                counts["families_created"] += 1
            elif plan.touched:
                counts["families_updated"] += 1
            elif plan.line:
                counts["families_unchanged"] += 1
            for guardian in plan.guardians:
                if not plan.line:
                    continue
                if getattr(guardian, "_import_new", False):
                    counts["guardians_created"] += 1
                elif getattr(guardian, "_import_changed", False):
                    counts["guardians_updated"] += 1
            counts["quotients_created"] += len(plan.new_quotients)
        guardians_changed = sum(1 for plan in self.families.values() for g in plan.guardians
                                if getattr(g, "_import_changed", False))
        counts["guardians_unchanged"] = len(self.known_guardians_seen) - guardians_changed
        counts["quotients_unchanged"] = len(self.known_quotients_seen)
        for child_plan in self.children.values():
            if child_plan.is_new:
                counts["children_created"] += 1
            elif child_plan.changed:
                counts["children_updated"] += 1
            elif child_plan.families and not child_plan.links:
                counts["children_unchanged"] += 1

    def write(self, actor: Actor, filename: str) -> None:
        now = timezone.now()
        plans = [plan for plan in self.families.values() if plan.line]
        Family.objects.bulk_create([p.family for p in plans if p.is_new], batch_size=500)
        changed = [p for p in plans if not p.is_new and p.changed_fields]
        fields = sorted({f for p in changed for f in p.changed_fields} | {"updated_at"}
                        | ({"search_name"} if any("name" in p.changed_fields for p in changed)
                           else set()))
        for plan in changed:
            plan.family.updated_at = now
        if changed:
            Family.objects.bulk_update([p.family for p in changed], fields, batch_size=500)

        guardians = [g for p in plans for g in p.guardians]
        for guardian in guardians:  # the family of a new household now has its id
            guardian.family_id = guardian.family.pk
        Guardian.objects.bulk_create(
            [g for g in guardians if getattr(g, "_import_new", False)], batch_size=500)
        Guardian.objects.bulk_update(
            [g for g in guardians if getattr(g, "_import_changed", False)],
            ["email", "phone", "search_phone", "civility"], batch_size=500)

        Child.objects.bulk_create([c.child for c in self.children.values() if c.is_new],
                                  batch_size=500)
        Child.objects.bulk_update([c.child for c in self.children.values() if c.changed],
                                  ["school", "class_level"], batch_size=500)
        for membership in self.new_memberships:
            membership.child_id, membership.family_id = membership.child.pk, membership.family.pk
        Membership.objects.bulk_create(self.new_memberships, batch_size=500)
        quotients = [q for p in plans for q in p.quotients if q.pk is None]
        for quotient in quotients:
            quotient.family_id = quotient.family.pk
        FamilyQuotient.objects.bulk_create(quotients, batch_size=500)

        entries = []
        for plan in plans:
            if not plan.touched:
                continue
            family = plan.family
            if plan.is_new:
                action = "family.imported"
                summary = _("Family %(name)s (%(reference)s) imported from %(file)s") % {
                    "name": family.name, "reference": family.reference, "file": filename}
            else:
                action = "family.import_completed"
                summary = _("Family %(name)s (%(reference)s) completed by the import of "
                            "%(file)s") % {"name": family.name, "reference": family.reference,
                                           "file": filename}
            changes = {"file": filename, "fields": plan.changed_fields,
                       "guardians_added": plan.new_guardians,
                       "children_added": plan.new_children,
                       "children_linked": plan.linked_children,
                       "quotients_added": plan.new_quotients}
            if plan.is_new:
                changes["residency"] = family.residency
            entries.append(journal_entry_build(
                actor=actor, action=action, summary=summary, target=family,
                changes={k: v for k, v in changes.items() if v}))
        ActionLog.objects.bulk_create(entries, batch_size=500)
