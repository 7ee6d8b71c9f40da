"""Hélios (PES V2) exchange, pure part: check keys, text and amounts, the XML builders
of the ORMC bordereau and of the régie title, their validation (official XSD and the
business rules the XSD cannot check) and the parsers of the files Hélios sends back.
Nothing here touches the database: services in ``treasury/services/helios*.py`` feed
these functions plain values. See ``docs/helios.md`` and ``../shared/helios/NOTES.md``."""
