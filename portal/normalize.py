"""Normalised forms used for duplicate detection and search (one place, used everywhere)."""

import re
import unicodedata


def normalize_name(*parts: str) -> str:
    """'  Lefèvre-Dupont ', 'Léa' -> 'lefevre dupont lea' (accents, case, punctuation removed)."""
    text = " ".join(part for part in parts if part)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return text.strip()


def normalize_phone(value: str) -> str:
    """'+33 6 12-34-56-78' and '06.12.34.56.78' -> '0612345678'."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()
