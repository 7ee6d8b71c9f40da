"""The ORMC bordereau: proposed invoices, the file (official XSD, encoding, keys, PJ),
gap-free numbers per year, release and what it forbids afterwards."""

import base64
import gzip
from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from lxml import etree

from core.models import ActionLog
from portal.models import Unit
from tests.treasury.factories import SYSTEM, book, make_household, weekdays
from tests.treasury.helios_helpers import (
    XSD_DIR,
    configure_helios,
    issue_month,
    needs_xsd,
)
from treasury.helios.checks import file_errors, schema_errors
from treasury.helios.keys import check_keys
from treasury.models import (
    BordereauStatus,
    HeliosBordereau,
    HeliosSettings,
    Invoice,
    TransmissionStatus,
)
from treasury.selectors_helios import helios_invoices_proposed
from treasury.services.helios import (
    ERROR_ADDRESS,
    ERROR_NO_PRODUCT,
    ERROR_NOT_ELIGIBLE,
    ERROR_OPEN,
    ERROR_SETTINGS,
    helios_bordereau_build,
    helios_bordereau_discard,
    helios_bordereau_release,
)
from treasury.services.payments import ERROR_NOT_PAYABLE, payment_record

pytestmark = needs_xsd


def parse(bordereau):
    return etree.fromstring(bytes(bordereau.content))


def values(root, path):
    return [element.get("V") for element in root.iterfind(path)]


def test_the_proposed_list_holds_overdue_unpaid_invoices_only(overdue):
    martin, lefevre = overdue
    payment_record(family=martin.family, channel="cash", amount_cents=martin.total_cents,
                   received_on=date(2026, 4, 10), actor=SYSTEM)
    assert list(helios_invoices_proposed()) == [lefevre]
    with time_machine.travel("2026-04-01 10:00 +02:00", tick=False):
        assert list(helios_invoices_proposed()) == []  # not yet past the deadline


def test_the_ormc_file_validates_and_carries_the_invoice(overdue):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.VALID, bordereau.errors
    content = bytes(bordereau.content)
    assert content.startswith(b'<?xml version=\'1.0\' encoding=\'ISO-8859-1\'?>')
    assert schema_errors(content, xsd_dir=XSD_DIR) == []
    root = parse(bordereau)
    assert values(root, "PES_RecetteAller/Bordereau/BlocBordereau/IdBord") == ["1"]
    assert values(root, "PES_RecetteAller/Bordereau/BlocBordereau/NbrPce") == ["2"]
    assert values(root, ".//BlocPiece/IdPce") == ["1", "2"]
    assert values(root, ".//BlocPiece/ImpayeRegie") == ["1", "1"]
    assert values(root, ".//BlocPiece/Edition") == []
    total = sum(invoice.total_cents for invoice in overdue)
    assert values(root, ".//BlocBordereau/MtBordHt") == [f"{total // 100}.{total % 100:02d}"]
    martin = overdue[0]  # the first invoice number (the Lefèvre family)
    num_dette = f"{martin.year}{martin.sequence:06d}"
    assert values(root, ".//Piece[1]/BlocPiece/NumDette") == [num_dette]
    cle1, cle2 = check_keys(cod_col="021", nature_code="01", exer=2026, per="0",
                            num_dette=num_dette)
    assert values(root, ".//Piece[1]/BlocPiece/Cle1") == [cle1]
    assert values(root, ".//Piece[1]/BlocPiece/Cle2") == [cle2]
    assert set(values(root, ".//Piece[1]//InfoTiers/Nom")) == {martin.family.name}
    assert values(root, ".//Piece[1]//InfoTiers/Civilite")[0] == "M"
    assert bordereau.piece_count == 2 and bordereau.total_cents == total
    assert ActionLog.objects.filter(action="treasury.helios_build").count() == 1


def test_each_debtor_gets_the_civility_of_its_paying_guardian(overdue):
    from portal.models import Guardian

    first, second = overdue  # pieces 1 and 2; the commune's default civility is M
    Guardian.objects.filter(family=first.family).update(civility="MME")
    Guardian.objects.filter(family=second.family).update(civility="")
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.VALID, bordereau.errors
    root = parse(bordereau)
    assert values(root, ".//Piece[1]//InfoTiers/Civilite") == ["MME"]
    assert values(root, ".//Piece[2]//InfoTiers/Civilite") == ["M"]  # unknown: the default


def test_accents_are_latin1_bytes_and_the_euro_is_transliterated(overdue):
    configure_helios(budget_label="Régie 5 € – été")
    content = bytes(helios_bordereau_build(invoices=overdue, with_pdf=False,
                                           actor=SYSTEM).content)
    assert "Œillets".encode() not in content
    assert b"\xe9" in content and "é".encode() not in content  # é as one Latin-1 byte
    assert b'<LibelleColBud V="R\xe9gie 5 EUR - \xe9t\xe9"/>' in content
    assert b"OEillets" in content
    content.decode("iso-8859-1")


def test_with_pdf_the_invoices_travel_gzipped_and_base64(overdue):
    bordereau = helios_bordereau_build(invoices=overdue[:1], with_pdf=True, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.VALID, bordereau.errors
    root = parse(bordereau)
    assert values(root, ".//BlocPiece/Edition") == ["06"]
    assert values(root, ".//BlocPiece/PJRef/TypePJ") == ["010"]
    [id_unique] = values(root, ".//BlocPiece/PJRef/IdUnique")
    assert values(root, "PES_PJ/PJ/IdUnique") == [id_unique]
    pdf = gzip.decompress(base64.b64decode(root.find("PES_PJ/PJ/Contenu/Fichier").text))
    assert pdf.startswith(b"%PDF")
    assert bordereau.pieces.get().attachment_id == id_unique


def test_incomplete_settings_or_ineligible_invoices_are_refused(overdue):
    with pytest.raises(ValidationError) as error:
        helios_bordereau_build(invoices=[], with_pdf=False, actor=SYSTEM)
    martin = overdue[0]
    payment_record(family=martin.family, channel="cash", amount_cents=martin.total_cents,
                   received_on=date(2026, 4, 10), actor=SYSTEM)
    with pytest.raises(ValidationError) as error:
        helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    assert error.value.messages == [str(ERROR_NOT_ELIGIBLE) % {"numbers": martin.number}]
    HeliosSettings.objects.update(regie_id="")
    with pytest.raises(ValidationError) as error:
        helios_bordereau_build(invoices=overdue[1:], with_pdf=False, actor=SYSTEM)
    assert error.value.messages == [str(ERROR_SETTINGS)]


def test_missing_data_makes_an_invalid_bordereau_with_french_reasons(overdue):
    configure_helios(product_codes={})
    _family, (child,) = make_household("Sansadresse", address="", children=("Noé",))
    book(child, Unit.objects.get(), weekdays(date(2026, 2, 2), 2))
    with time_machine.travel("2026-03-03 10:00 +01:00", tick=False):
        issue_month(date(2026, 2, 1))  # bills the new family only
    invoices = list(helios_invoices_proposed())
    [no_address] = [invoice for invoice in invoices if invoice not in overdue]
    bordereau = helios_bordereau_build(invoices=invoices, with_pdf=False, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.INVALID
    assert str(ERROR_ADDRESS) % {"number": no_address.number} in bordereau.error_list
    assert str(ERROR_NO_PRODUCT) % {"service": "Restauration scolaire test"} in \
        bordereau.error_list
    assert not bordereau.can_download
    with pytest.raises(ValidationError):
        helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    assert list(helios_invoices_proposed()) == invoices  # still proposed


def test_idbord_follows_without_gaps_per_year_and_invalid_ones_give_back(overdue):
    first = helios_bordereau_build(invoices=overdue[:1], with_pdf=False, actor=SYSTEM)
    with pytest.raises(ValidationError) as error:
        helios_bordereau_build(invoices=overdue[1:], with_pdf=False, actor=SYSTEM)
    assert error.value.messages == [str(ERROR_OPEN) % {"number": "2026-1"}]
    helios_bordereau_release(bordereau=first, actor=SYSTEM)
    configure_helios(product_codes={})
    invalid = helios_bordereau_build(invoices=overdue[1:], with_pdf=False, actor=SYSTEM)
    assert (invalid.status, invalid.id_bord) == (BordereauStatus.INVALID, 2)
    configure_helios()
    second = helios_bordereau_build(invoices=overdue[1:], with_pdf=False, actor=SYSTEM)
    assert (second.status, second.id_bord) == (BordereauStatus.VALID, 2)
    helios_bordereau_discard(bordereau=second, actor=SYSTEM)
    again = helios_bordereau_build(invoices=overdue[1:], with_pdf=False, actor=SYSTEM)
    assert again.id_bord == 2
    helios_bordereau_release(bordereau=again, actor=SYSTEM)
    # As if Hélios had rejected the first one: its invoice goes in next year's first.
    HeliosBordereau.objects.filter(pk=first.pk).update(status=BordereauStatus.REJECTED)
    Invoice.objects.update(sent_to_treasury_at=None)
    with time_machine.travel("2027-01-10 10:00 +01:00", tick=False):
        next_year = helios_bordereau_build(invoices=overdue[:1], with_pdf=False,
                                           actor=SYSTEM)
    assert (next_year.exer, next_year.id_bord) == (2027, 1)


def test_release_marks_the_invoices_and_payments_then_refuse_them(overdue):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    bordereau = helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.RELEASED
    assert bordereau.transmission == TransmissionStatus.TO_SEND
    martin = Invoice.objects.get(pk=overdue[0].pk)
    assert martin.sent_to_treasury_at is not None
    assert ActionLog.objects.filter(action="treasury.invoice_sent_to_treasury",
                                    target_id=str(martin.pk)).exists()
    with pytest.raises(ValidationError) as error:  # desk (or card) payment of that invoice
        payment_record(family=martin.family, channel="cheque", amount_cents=100,
                       cheque_number="123", bank="LBP", received_on=date(2026, 4, 20),
                       invoices=[martin], actor=SYSTEM)
    assert error.value.messages == [str(ERROR_NOT_PAYABLE) % {"number": martin.number}]
    assert list(helios_invoices_proposed()) == []


def test_release_refuses_a_bordereau_whose_invoice_was_paid_since(overdue):
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    martin = overdue[0]
    payment_record(family=martin.family, channel="cash", amount_cents=100,
                   received_on=date(2026, 4, 20), actor=SYSTEM)
    with pytest.raises(ValidationError):
        helios_bordereau_release(bordereau=bordereau, actor=SYSTEM)
    assert Invoice.objects.filter(sent_to_treasury_at__isnull=False).count() == 0


def test_every_file_validates_only_with_the_schema_folder(overdue, settings):
    settings.HELIOS_XSD_DIR = "/nonexistent"
    bordereau = helios_bordereau_build(invoices=overdue, with_pdf=False, actor=SYSTEM)
    assert bordereau.status == BordereauStatus.INVALID
    assert file_errors(bytes(bordereau.content), xsd_dir=XSD_DIR, nature_code="01") == []
