"""Legacy CSV import: encodings, separators, checks, dedupe, idempotence, isolation, command."""

import csv
import io
import time
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from core.journal import Actor
from core.models import ActionLog
from portal.importer import (
    ERROR_COLUMN_TWICE,
    ERROR_COLUMNS_MISSING,
    ROW_BIRTH_DATE_INVALID,
    ROW_CHILD_NAME_MISSING,
    ROW_CIVILITY_INVALID,
    ROW_CLASS_UNKNOWN,
    ROW_EMAIL_INVALID,
    ROW_EMAIL_OTHER_FAMILY,
    ROW_QF_NOT_A_NUMBER,
    ROW_QF_OVERLAP,
    ROW_QF_START_MISSING,
    ROW_SCHOOL_UNKNOWN,
    WARN_DUPLICATE_CHILD,
    WARN_EXISTING_VALUE_KEPT,
    WARN_FAMILY_VALUE_DIFFERS,
    WARN_QF_DIFFERS,
    families_import,
)
from portal.models import (
    Child,
    CommuneProfile,
    Facility,
    FacilityKind,
    Family,
    FamilyQuotient,
    Guardian,
    Membership,
    Residency,
)
from portal.services.families import child_add, family_create, guardian_add
from portal.services.quotients import quotient_set

HEADER = ["Référence famille", "Nom responsable 1", "Prénom responsable 1",
          "E-mail responsable 1", "Téléphone responsable 1", "Nom responsable 2",
          "Prénom responsable 2", "E-mail responsable 2", "Téléphone responsable 2",
          "Adresse", "Code postal", "Ville", "QF", "QF valide du", "QF valide jusqu'au",
          "Nom enfant", "Prénom enfant", "Date de naissance", "École", "Classe"]

LEFEVRE = ["F001", "Lefèvre", "Hélène", "helene.lefevre@exemple.fr", "06 12 34 56 78",
           "Lefèvre", "Marc", "", "", "12, rue des Écoles", "38360", "Sassenage",
           "845", "01/01/2026", "31/12/2026"]
MARTIN = ["F002", "Martin", "Paul", "paul.martin@exemple.fr", "0700000000",
          "", "", "", "", "3 allée Gambetta", "38000", "Grenoble", "1 234,00", "01/01/2026", ""]


def row(family, child_last, child_first, birth, school="", level=""):
    return [*family, child_last, child_first, birth, school, level]


ROWS = [
    row(LEFEVRE, "Lefèvre", "Léa", "02/04/2017", "", "CE1"),
    row(LEFEVRE, "Lefèvre", "Noé", "15/09/2020", "", "ms"),
    row(MARTIN, "Martin", "Jules", "30/11/2016", "", "CM1"),
]


def csv_bytes(rows, *, sep=";", encoding="utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(commune, data, **options):
    with commune:
        return families_import(data=data, actor=Actor.system("tests"), filename="export.csv",
                               **options)


def line(report, number):
    return next(issue.messages for issue in report.rejected if issue.line == number)


@pytest.fixture
def places(commune_a):
    with commune_a:
        profile = CommuneProfile.get()
        profile.resident_places = "38360 Sassenage"
        profile.save()


# -- reading --------------------------------------------------------------------------------

def test_a_semicolon_file_creates_families_guardians_children_and_quotients(commune_a,
                                                                             places):
    report = run(commune_a, csv_bytes(ROWS))
    assert not report.rejected and report.written
    c = report.counts
    assert (c["families_created"], c["guardians_created"], c["children_created"],
            c["quotients_created"]) == (2, 3, 3, 2)
    with commune_a:
        lefevre = Family.objects.get(reference="F001")
        assert lefevre.name == "Lefèvre"  # both guardians share the name
        assert (lefevre.address_line1, lefevre.postcode, lefevre.city) == (
            "12, rue des Écoles", "38360", "Sassenage")
        assert lefevre.residency == Residency.RESIDENT
        assert Family.objects.get(reference="F002").residency == Residency.NON_RESIDENT
        helene = Guardian.objects.get(email="helene.lefevre@exemple.fr")
        assert helene.is_payer and helene.search_phone == "0612345678"
        assert not Guardian.objects.get(first_name="Marc").is_payer
        assert sorted(lefevre.children.values_list("first_name", "class_level")) == [
            ("Léa", "CE1"), ("Noé", "MS")]
        assert Child.objects.get(first_name="Léa").birth_date == date(2017, 4, 2)
        quotient = FamilyQuotient.objects.get(family__reference="F002")
        assert (quotient.value, quotient.valid_from, quotient.valid_until, quotient.source) == (
            1234, date(2026, 1, 1), None, "caf")
        assert ActionLog.objects.filter(action="family.imported").count() == 2
        summary = ActionLog.objects.get(action="family.import")
        assert summary.changes["counts"]["children_created"] == 3


def test_a_comma_file_with_quoted_commas_and_a_bom(commune_a):
    data = b"\xef\xbb\xbf" + csv_bytes(ROWS, sep=",")
    report = run(commune_a, data)
    assert not report.rejected and report.counts["children_created"] == 3
    with commune_a:
        assert Family.objects.get(reference="F001").address_line1 == "12, rue des Écoles"


def test_a_windows_1252_file_keeps_its_accents(commune_a):
    report = run(commune_a, csv_bytes(ROWS, encoding="cp1252"))
    assert not report.rejected
    with commune_a:
        assert Family.objects.get(reference="F001").name == "Lefèvre"
        assert Child.objects.filter(first_name="Noé", last_name="Lefèvre").exists()


def test_headers_are_matched_whatever_their_case_accents_and_aliases(commune_a):
    header = ["REF FAMILLE", "nom du responsable 1", "PRENOM RESPONSABLE 1", "Courriel R1",
              "Nom de l'enfant", "Prénom de l'enfant", "Né le", "CP", "VILLE", "Remarques"]
    data = csv_bytes([["A-7", "Durand", "Gaëlle", "g@exemple.fr", "Durand", "Zoé",
                       "1/2/2019", "1000", "Bourg-en-Bresse", "RAS"]], header=header)
    report = run(commune_a, data)
    assert not report.rejected
    assert report.ignored_columns == ["Remarques"]
    with commune_a:
        family = Family.objects.get(reference="A-7")
        assert family.postcode == "01000"  # the spreadsheet had dropped the leading zero
        assert family.children.get().birth_date == date(2019, 2, 1)


def test_civilities_are_read_in_their_usual_spellings_and_fill_a_known_guardian(commune_a):
    header = ["Référence famille", "Civilité responsable 1", "Nom responsable 1",
              "Prénom responsable 1", "E-mail responsable 1", "Civ. R2", "Nom responsable 2",
              "Prénom responsable 2", "Nom enfant", "Prénom enfant", "Date de naissance"]
    actor = Actor.system("tests")
    with commune_a:  # known, without civility: the import fills it
        known = family_create(name="Roux", reference="C3", actor=actor)
        guardian_add(family=known, first_name="Ana", last_name="Roux", email="ana@exemple.fr",
                     actor=actor)
    rows = [["C1", "Madame", "Durand", "Gaëlle", "", "M.", "Durand", "Marc", "Durand", "Zoé",
             "01/02/2019"],
            ["C2", "Mlle", "Petit", "Inès", "", "", "", "", "Petit", "Léo", "03/04/2018"],
            ["C3", "MME", "Roux", "Ana", "ana@exemple.fr", "", "", "", "Roux", "Eva",
             "05/06/2017"],
            ["C4", "Docteur", "Blanc", "Jean", "", "", "", "", "Blanc", "Lou", "07/08/2016"]]
    report = run(commune_a, csv_bytes(rows, header=header), skip_invalid=True)
    assert [issue.line for issue in report.rejected] == [5]
    assert line(report, 5) == [str(ROW_CIVILITY_INVALID % {"value": "Docteur", "number": 1})]
    with commune_a:
        civilities = dict(Guardian.objects.values_list("first_name", "civility"))
        assert civilities == {"Gaëlle": "MME", "Marc": "M", "Inès": "MME", "Ana": "MME"}
        assert not Family.objects.filter(reference="C4").exists()


def test_a_file_without_the_required_columns_is_refused(commune_a):
    data = csv_bytes([["x"]], header=["Référence famille"])
    with pytest.raises(ValidationError) as exc:
        run(commune_a, data)
    assert "Nom enfant" in exc.value.messages[0]
    assert exc.value.messages[0].startswith(str(ERROR_COLUMNS_MISSING).split("%")[0])


def test_two_columns_with_the_same_meaning_are_refused(commune_a):
    header = [*HEADER, "Nom de l'enfant"]
    with pytest.raises(ValidationError) as exc:
        run(commune_a, csv_bytes([], header=header))
    assert exc.value.messages == [str(ERROR_COLUMN_TWICE % {
        "first": "Nom enfant", "second": "Nom de l'enfant"})]


# -- checks ---------------------------------------------------------------------------------

BAD_ROWS = [
    row(LEFEVRE, "Lefèvre", "Léa", "31/02/2017"),                          # line 2
    row(LEFEVRE, "", "Noé", "15/09/2020"),                                 # line 3
    row(MARTIN, "Martin", "Jules", "30/11/2016", "", "CM3"),               # line 4
    row(["F003", "Roux", "Éric", "eric@", "", "", "", "", "", "", "", "", "beaucoup", "", ""],
        "Roux", "Inès", "01/01/2018"),                                     # line 5
    row(MARTIN, "Martin", "Anna", "01/06/2019", "École du Lac"),           # line 6
    row(MARTIN, "Martin", "Lou", "01/06/2019"),                            # line 7: valid
]


def test_bad_lines_are_reported_with_their_number_and_reason_and_nothing_is_written(
        commune_a):
    report = run(commune_a, csv_bytes(BAD_ROWS))
    assert [issue.line for issue in report.rejected] == [2, 3, 4, 5, 6]
    assert line(report, 2) == [str(ROW_BIRTH_DATE_INVALID % {"value": "31/02/2017"})]
    assert line(report, 3) == [str(ROW_CHILD_NAME_MISSING)]
    assert line(report, 4) == [str(ROW_CLASS_UNKNOWN % {"value": "CM3"})]
    assert line(report, 5) == [str(ROW_EMAIL_INVALID % {"value": "eric@", "number": 1}),
                               str(ROW_QF_NOT_A_NUMBER % {"value": "beaucoup"}),
                               str(ROW_QF_START_MISSING)]
    assert line(report, 6) == [str(ROW_SCHOOL_UNKNOWN % {"value": "École du Lac"})]
    assert not report.written
    assert "2" in report.render() and str(ROW_CHILD_NAME_MISSING) in report.render()
    with commune_a:
        assert not Family.objects.exists() and not Child.objects.exists()
        assert not ActionLog.objects.filter(action__startswith="family.").exists()


def test_skip_invalid_writes_the_valid_lines_and_reports_the_others(commune_a):
    report = run(commune_a, csv_bytes(BAD_ROWS), skip_invalid=True)
    assert len(report.rejected) == 5 and report.written
    with commune_a:
        assert list(Child.objects.values_list("first_name", flat=True)) == ["Lou"]
        assert list(Family.objects.values_list("reference", flat=True)) == ["F002"]
        assert ActionLog.objects.get(action="family.import").changes["rejected_lines"] == [
            2, 3, 4, 5, 6]


def test_a_known_school_is_matched_by_its_normalised_name(commune_a):
    with commune_a:
        school = Facility.objects.create(name="Groupe scolaire Vercors",
                                         kind=FacilityKind.SCHOOL_GROUP)
    report = run(commune_a, csv_bytes([row(MARTIN, "Martin", "Lou", "01/06/2019",
                                           "GROUPE SCOLAIRE VERCORS", "CP")]))
    assert not report.rejected
    with commune_a:
        assert Child.objects.get().school == school


# -- duplicates and existing records --------------------------------------------------------

def test_a_child_listed_twice_in_a_household_is_created_once(commune_a):
    rows = [*ROWS, row(LEFEVRE, "LEFEVRE", "Lea", "02/04/2017")]
    report = run(commune_a, csv_bytes(rows))
    assert report.counts["children_created"] == 3 and report.counts["duplicates"] == 1
    assert report.warnings[0].line == 5
    assert report.warnings[0].messages == [str(WARN_DUPLICATE_CHILD % {
        "name": "Léa Lefèvre", "reference": "F001", "line": 2})]
    with commune_a:
        assert Child.objects.count() == 3 and Membership.objects.count() == 3


def test_family_values_differing_between_lines_keep_the_first_and_warn(commune_a):
    moved = [*LEFEVRE[:11], "Grenoble", "900", "01/06/2026", "31/12/2026"]
    report = run(commune_a, csv_bytes([*ROWS, row(moved, "Lefèvre", "Zoé", "01/01/2022")]))
    assert not report.rejected
    assert {issue.line for issue in report.warnings} == {5}
    assert {issue.messages[0] for issue in report.warnings} == {
        str(WARN_FAMILY_VALUE_DIFFERS % {"column": "Ville", "reference": "F001", "line": 2,
                                         "kept": "Sassenage"}),
        str(WARN_QF_DIFFERS % {"reference": "F001", "line": 2}),
    }
    with commune_a:
        family = Family.objects.get(reference="F001")
        assert family.city == "Sassenage" and family.children.count() == 3
        assert list(family.quotients.values_list("value", flat=True)) == [845]


def test_a_child_of_two_households_is_one_child_with_two_memberships(commune_a):
    father = ["F009", "Lefèvre", "Marc", "marc@exemple.fr", "", "", "", "", "",
              "", "", "", "", "", ""]
    rows = [*ROWS, row(father, "Lefèvre", "Léa", "02/04/2017")]
    report = run(commune_a, csv_bytes(rows))
    assert report.counts["children_created"] == 3 and report.counts["children_linked"] == 1
    with commune_a:
        lea = Child.objects.get(first_name="Léa")
        assert sorted(lea.families.values_list("reference", flat=True)) == ["F001", "F009"]


def test_existing_records_are_completed_and_reused_not_duplicated(commune_a):
    actor = Actor.system("tests")
    with commune_a:
        family = family_create(name="Lefèvre", reference="F001", actor=actor)
        guardian_add(family=family, first_name="Hélène", last_name="Lefèvre",
                     email="HELENE.LEFEVRE@exemple.fr", actor=actor)
        other = family_create(name="Martin", reference="M-1", city="Fontaine", actor=actor)
        child_add(family=other, first_name="Jules", last_name="Martin",
                  birth_date=date(2016, 11, 30), actor=actor)
        family_create(name="Martin", reference="F002", city="Fontaine", actor=actor)
    report = run(commune_a, csv_bytes(ROWS))
    assert not report.rejected
    c = report.counts
    assert (c["families_created"], c["families_updated"]) == (0, 2)
    assert (c["guardians_created"], c["guardians_updated"], c["guardians_unchanged"]) == (
        2, 1, 0)
    assert (c["children_created"], c["children_linked"]) == (2, 1)
    assert report.warnings[-1].messages == [str(WARN_EXISTING_VALUE_KEPT % {
        "column": "Ville", "reference": "F002", "kept": "Fontaine"})]
    with commune_a:
        family = Family.objects.get(reference="F001")
        assert family.postcode == "38360" and family.guardians.count() == 2
        helene = Guardian.objects.get(first_name="Hélène")
        assert helene.phone == "06 12 34 56 78"  # filled: it was empty
        assert Family.objects.get(reference="F002").city == "Fontaine"  # agents' value wins
        jules = Child.objects.get(first_name="Jules")
        assert sorted(jules.families.values_list("reference", flat=True)) == ["F002", "M-1"]
        assert jules.class_level == "CM1"
        entry = ActionLog.objects.get(action="family.import_completed", target_id=family.pk)
        assert entry.changes["fields"]["postcode"] == ["", "38360"]


def test_an_email_of_a_guardian_of_another_family_rejects_the_line(commune_a):
    with commune_a:
        family = family_create(name="Autre", reference="X1", actor=Actor.system("tests"))
        guardian_add(family=family, first_name="P", last_name="Martin",
                     email="paul.martin@exemple.fr", actor=Actor.system("tests"))
    report = run(commune_a, csv_bytes(ROWS))
    assert line(report, 4) == [str(ROW_EMAIL_OTHER_FAMILY % {
        "email": "paul.martin@exemple.fr", "reference": "X1"})]


def test_a_quotient_overlapping_a_known_one_rejects_the_line(commune_a):
    with commune_a:
        family = family_create(name="Martin", reference="F002", actor=Actor.system("tests"))
        quotient_set(family=family, value=500, source="caf", valid_from=date(2025, 9, 1),
                     valid_until=date(2026, 8, 31), actor=Actor.system("tests"))
    report = run(commune_a, csv_bytes(ROWS))
    assert line(report, 4) == [str(ROW_QF_OVERLAP % {
        "reference": "F002", "start": "01/09/2025", "end": "31/08/2026"})]


# -- idempotence, dry run, isolation --------------------------------------------------------

def test_importing_the_same_file_twice_changes_nothing(commune_a):
    data = csv_bytes(ROWS)
    run(commune_a, data)
    with commune_a:
        before = (Family.objects.count(), Guardian.objects.count(), Child.objects.count(),
                  Membership.objects.count(), FamilyQuotient.objects.count(),
                  ActionLog.objects.count())
    report = run(commune_a, data)
    c = report.counts
    assert not report.changed and not report.written and not report.warnings
    assert (c["families_created"], c["families_updated"], c["guardians_created"],
            c["children_created"], c["children_linked"], c["quotients_created"]) == (
        0, 0, 0, 0, 0, 0)
    assert (c["families_unchanged"], c["guardians_unchanged"], c["children_unchanged"],
            c["quotients_unchanged"]) == (2, 3, 3, 2)
    with commune_a:
        assert before == (Family.objects.count(), Guardian.objects.count(),
                          Child.objects.count(), Membership.objects.count(),
                          FamilyQuotient.objects.count(), ActionLog.objects.count())


def test_a_dry_run_counts_but_writes_nothing(commune_a):
    report = run(commune_a, csv_bytes(ROWS), dry_run=True)
    assert report.counts["children_created"] == 3 and not report.written
    with commune_a:
        assert not Family.objects.exists()
        assert not ActionLog.objects.filter(action__startswith="family").exists()


def test_an_import_into_one_commune_leaves_the_other_untouched(commune_a, commune_b):
    run(commune_a, csv_bytes(ROWS))
    with commune_b:
        assert not Family.objects.exists() and not Child.objects.exists()
        assert not ActionLog.objects.filter(action__startswith="family").exists()
    report = run(commune_b, csv_bytes(ROWS))  # the same references and e-mails are free there
    assert report.counts["families_created"] == 2


def test_two_thousand_rows_import_with_a_bounded_number_of_queries(
        commune_a, django_assert_max_num_queries):
    rows = []
    for number in range(1000):
        family = [f"P{number:04d}", f"Nom{number}", "Alex", f"parent{number}@exemple.fr",
                  "0612345678", f"Nom{number}", "Sam", "", "", f"{number} rue Haute", "38360",
                  "Sassenage", str(300 + number), "01/01/2026", "31/12/2026"]
        rows.append(row(family, f"Nom{number}", "Aîné", "01/02/2016", "", "CE2"))
        rows.append(row(family, f"Nom{number}", "Cadet", "03/04/2019", "", "PS"))
    data = csv_bytes(rows)
    started = time.monotonic()
    with django_assert_max_num_queries(60):
        report = run(commune_a, data)
    elapsed = time.monotonic() - started
    assert report.counts["children_created"] == 2000 and report.counts["families_created"] == 1000
    assert elapsed < 30
    with django_assert_max_num_queries(30):
        again = run(commune_a, data)
    assert not again.changed


# -- command --------------------------------------------------------------------------------

def test_the_command_prints_a_report_and_fails_on_rejected_lines(commune_a, tmp_path, capsys):
    good = tmp_path / "familles.csv"
    good.write_bytes(csv_bytes(ROWS, encoding="cp1252"))
    call_command("import_families", "--commune", "alpha", str(good))
    out = capsys.readouterr().out
    assert "familles.csv" in out

    bad = tmp_path / "erreurs.csv"
    bad.write_bytes(csv_bytes(BAD_ROWS))
    with pytest.raises(CommandError) as exc:
        call_command("import_families", "--commune", "alpha", str(bad))
    assert exc.value.returncode == 1
    assert str(ROW_CHILD_NAME_MISSING) in capsys.readouterr().out

    call_command("import_families", "--commune", "alpha", "--skip-invalid", str(bad))
    with commune_a:
        assert Child.objects.filter(first_name="Lou").exists()


def test_the_command_exit_code(commune_a, tmp_path, monkeypatch, capsys):
    from django.core.management import load_command_class

    monkeypatch.setattr(connections, "close_all", lambda: None)  # keep the test transaction
    bad = tmp_path / "erreurs.csv"
    bad.write_bytes(csv_bytes(BAD_ROWS))
    command = load_command_class("portal", "import_families")
    with pytest.raises(SystemExit) as exc:
        command.run_from_argv(["manage.py", "import_families", "--commune", "alpha", str(bad)])
    assert exc.value.code == 1
    good = tmp_path / "familles.csv"
    good.write_bytes(csv_bytes(ROWS))
    command = load_command_class("portal", "import_families")
    command.run_from_argv(["manage.py", "import_families", "--commune", "alpha", "--dry-run",
                           str(good)])  # no SystemExit: success
    with commune_a:
        assert not Family.objects.exists()


def test_the_command_refuses_an_unknown_commune_and_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_families", "--commune", "nowhere", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError):
        call_command("import_families", "--commune", "alpha", str(tmp_path / "absent.csv"))
