"""Fixtures of the treasury tests shared between files (Hélios)."""

from tests.treasury.helios_helpers import helios_xsd, overdue  # noqa: F401
