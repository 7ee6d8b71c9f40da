"""The ORMC check keys Cle1 (mod 11) and Cle2 (mod 23), as NOTES §4 describes them
(Noethys' PES procedure, inherited from ROLMRE): NumDette padded to 13 digits, a
remainder 0 gives key 1. One function, pinned by the notes' worked examples."""

import re

CLE2_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXY"  # 23 letters: no I, O, Z
NUM_DETTE_WIDTH = 13
WEIGHTS = (2, 3, 4, 5, 6, 7)


def check_keys(*, cod_col: str, nature_code: str, exer: int | str, per: str,
               num_dette: str) -> tuple[str, str]:
    """(Cle1, Cle2) of a debt. ``cod_col`` 3 digits, ``nature_code`` 2 digits, ``per``
    one digit, ``num_dette`` at most 13 digits (as sent in the file)."""
    year = str(exer)
    if not (re.fullmatch(r"\d{3}", cod_col) and re.fullmatch(r"\d{2}", nature_code)
            and re.fullmatch(r"\d{4}", year) and re.fullmatch(r"\d", per)
            and re.fullmatch(rf"\d{{1,{NUM_DETTE_WIDTH}}}", num_dette)):
        raise ValueError("check keys: CodCol 3 digits, code nature 2, Exer 4, Per 1, "
                         f"NumDette 1 to {NUM_DETTE_WIDTH} digits")
    debt = num_dette.zfill(NUM_DETTE_WIDTH)
    yy = year[-2:]
    s1 = cod_col + nature_code + yy + per + debt
    total = sum(int(digit) * WEIGHTS[index % len(WEIGHTS)]
                for index, digit in enumerate(reversed(s1)))
    remainder = total % 11
    cle1 = 1 if remainder in (0, 1) else 11 - remainder
    cle2 = CLE2_LETTERS[int(yy + per + "00" + debt) % 23]
    return str(cle1), cle2


def num_dette_of(*, year: int, sequence: int) -> str:
    """NumDette of an invoice: its year and 6-digit sequence, digits only (10 digits)."""
    if not (1000 <= year <= 9999 and 0 < sequence < 10**6):
        raise ValueError("NumDette: a 4-digit year and a sequence below 1 000 000")
    return f"{year}{sequence:06d}"
