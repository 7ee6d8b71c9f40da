"""Writes of the family portal (one module per area)."""
