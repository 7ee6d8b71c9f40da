"""Gap-free numbers per series and year, given inside the caller's transaction.

The series row is locked (``SELECT … FOR UPDATE``) until the transaction ends: two
transactions issuing at once take numbers one after the other, and a transaction that
fails gives its numbers back (nothing was committed), so a series has no gap.
"""

from django.db import transaction

from treasury.models import NumberSequence


def number_format(series: str, year: int, sequence: int) -> str:
    return f"{series}{year}-{sequence:05d}"


def numbers_reserve(*, series: str, year: int, count: int) -> int:
    """Reserve ``count`` numbers; return the first one (the caller numbers from there)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("numbers are reserved inside the transaction that uses them")
    NumberSequence.objects.get_or_create(series=series, year=year)
    sequence = NumberSequence.objects.select_for_update().get(series=series, year=year)
    first = sequence.last_number + 1
    if count:
        sequence.last_number += count
        sequence.save(update_fields=["last_number"])
    return first
