"""Pure parts of the Hélios exchange: check keys (NOTES §4 worked examples and the
ROLMRE vector), text and amounts in ISO-8859-1, the net per service."""

import pytest

from treasury.helios.keys import check_keys, num_dette_of
from treasury.helios.text import amount, cents_of, latin1
from treasury.services.helios import net_per_product


@pytest.mark.parametrize(("cod_col", "nature", "exer", "per", "num_dette", "keys"), [
    ("021", "01", 2025, "0", "2025000123", ("2", "Y")),  # example 1
    ("001", "01", 2024, "1", "7", ("4", "S")),  # example 2
    ("021", "01", 2025, "0", "14", ("1", "Y")),  # example 3: remainder 0 gives 1
    ("001", "04", 2000, "0", "0000000900001", ("8", "M")),  # Noethys ROLMRE vector
])
def test_check_keys_match_the_notes_examples(cod_col, nature, exer, per, num_dette, keys):
    assert check_keys(cod_col=cod_col, nature_code=nature, exer=exer, per=per,
                      num_dette=num_dette) == keys


def test_check_keys_refuse_malformed_input():
    for bad in ({"cod_col": "21"}, {"nature_code": "1"}, {"per": "10"},
                {"num_dette": "12345678901234"}, {"num_dette": "12A"}):
        arguments = {"cod_col": "021", "nature_code": "01", "exer": 2025, "per": "0",
                     "num_dette": "1", **bad}
        with pytest.raises(ValueError):
            check_keys(**arguments)


def test_num_dette_is_the_year_and_six_digits_of_the_sequence():
    assert num_dette_of(year=2026, sequence=42) == "2026000042"
    with pytest.raises(ValueError):
        num_dette_of(year=2026, sequence=10**6)


def test_latin1_keeps_accents_and_transliterates_the_rest():
    assert latin1("Élodie Lefèvre – 5 € “œuvre”…") == 'Élodie Lefèvre - 5 EUR "oeuvre"...'
    assert latin1("Łukasz\tKowalski\r\nZ") == "Lukasz Kowalski Z"
    assert latin1("x" * 50, 38) == "x" * 38
    latin1("ŞĞ漢").encode("iso-8859-1")  # never raises


def test_amounts_have_two_decimals_from_cents():
    assert [amount(c) for c in (1, 50, 1250, 100000)] == ["0.01", "0.50", "12.50", "1000.00"]
    for bad in (0, -5, 1.5):
        with pytest.raises(ValueError):
            amount(bad)
    assert cents_of("12.5") == 1250 and cents_of("7") == 700 and cents_of("0.05") == 5


def test_net_per_product_spreads_payments_and_credits_and_drops_zeros():
    assert net_per_product([("a", 1000), ("b", 500)], 1500) == [("a", 1000), ("b", 500)]
    net = net_per_product([("a", 1000), ("b", 500), ("c", -300)], 1001)
    assert sum(cents for _key, cents in net) == 1001
    assert dict(net)["a"] > dict(net)["b"] > 0
    assert net_per_product([("a", 1000), ("b", 1)], 500) == [("a", 499), ("b", 1)]
    assert net_per_product([("a", 1000), ("b", 1)], 1) == [("b", 1)]  # zero line dropped
    assert net_per_product([("a", 1000)], 0) == []
