"""Text and amounts as PES V2 wants them: ISO-8859-1 (what Latin-1 lacks is
transliterated, NOTES §1), no control characters, bounded lengths, amounts with a dot and
exactly two decimals from integer cents."""

import re
import unicodedata

TRANSLITERATIONS = {
    "€": "EUR", "œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "‚": ",", "“": '"', "”": '"',
    "„": '"', "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...", "\u00a0": " ",
    "\u202f": " ", "\u2009": " ", "•": "-", "Ÿ": "Y", "ŷ": "y", "ẞ": "SS", "Ł": "L",
    "ł": "l", "Đ": "D", "đ": "d",
}
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def latin1(value: str, max_length: int | None = None) -> str:
    """``value`` reduced to characters ISO-8859-1 can encode (accents kept), on one line,
    trimmed, cut to ``max_length``."""
    result = []
    for char in str(value):
        if char in TRANSLITERATIONS:
            result.append(TRANSLITERATIONS[char])
            continue
        try:
            char.encode("latin-1")
            result.append(char)
        except UnicodeEncodeError:
            # Decompose (ł stays unknown, ő → o + accent) and keep what Latin-1 knows.
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if c.isascii() and not unicodedata.combining(c))
            result.append(base or "?")
    text = CONTROL.sub(" ", "".join(result).replace("\r\n", " "))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:max_length].rstrip() if max_length else text


def amount(cents: int) -> str:
    """``1250`` → ``"12.50"`` (Base_Montant: strictly positive)."""
    if not isinstance(cents, int) or cents <= 0:
        raise ValueError("PES amounts are integer cents above zero")
    return f"{cents // 100}.{cents % 100:02d}"


def cents_of(value: str) -> int:
    """``"12.5"`` / ``"12.50"`` → 1250 (amounts read back from Hélios files)."""
    match = re.fullmatch(r"\s*(-?)(\d+)(?:\.(\d{1,2}))?\s*", value or "")
    if not match:
        raise ValueError(f"not an amount: {value!r}")
    sign, units, decimals = match.groups()
    cents = int(units) * 100 + int((decimals or "0").ljust(2, "0"))
    return -cents if sign else cents
