"""Messages of the family import (English source, French through the locale)."""

from django.utils.translation import gettext_lazy

ERROR_FILE_UNREADABLE = gettext_lazy(
    "The file could not be read: save it as CSV in UTF-8 or Windows-1252.")
ERROR_FILE_EMPTY = gettext_lazy("The file is empty.")
ERROR_COLUMNS_MISSING = gettext_lazy("Missing columns: %(columns)s.")
ERROR_COLUMN_TWICE = gettext_lazy("Columns %(first)s and %(second)s hold the same data.")
ERROR_NOT_IN_COMMUNE = "families_import() must run inside a commune's schema"

ROW_TOO_MANY_FIELDS = gettext_lazy(
    "the line has %(found)d fields, the header %(expected)d (a separator inside a value?)")
ROW_REFERENCE_MISSING = gettext_lazy("missing family reference")
ROW_TOO_LONG = gettext_lazy("%(column)s too long (%(max)d characters at most)")
ROW_CHILD_NAME_MISSING = gettext_lazy("missing child's last name or first name")
ROW_BIRTH_DATE_MISSING = gettext_lazy("missing birth date")
ROW_BIRTH_DATE_INVALID = gettext_lazy("invalid birth date “%(value)s” (DD/MM/YYYY expected)")
ROW_BIRTH_DATE_FUTURE = gettext_lazy("birth date “%(value)s” is in the future")
ROW_GUARDIAN_NAME_MISSING = gettext_lazy("missing last name or first name of guardian %(number)d")
ROW_EMAIL_INVALID = gettext_lazy("invalid e-mail address “%(value)s” (guardian %(number)d)")
ROW_PHONE_INVALID = gettext_lazy("invalid phone number “%(value)s” (guardian %(number)d)")
ROW_CIVILITY_INVALID = gettext_lazy(
    "unknown civility “%(value)s” (guardian %(number)d): M., Mme or nothing")
ROW_SAME_EMAIL = gettext_lazy("both guardians have the same e-mail address")
ROW_EMAIL_OTHER_FAMILY = gettext_lazy(
    "the e-mail address %(email)s belongs to a guardian of family %(reference)s")
ROW_POSTCODE_INVALID = gettext_lazy("invalid postcode “%(value)s” (five digits)")
ROW_CLASS_UNKNOWN = gettext_lazy(
    "unknown class “%(value)s” (expected: creche, PS, MS, GS, CP, CE1, CE2, CM1, CM2, college)")
ROW_SCHOOL_UNKNOWN = gettext_lazy(
    "unknown school “%(value)s”: create the facility first or leave the column empty")
ROW_QF_NOT_A_NUMBER = gettext_lazy("QF “%(value)s” is not a number")
ROW_QF_DATE_INVALID = gettext_lazy("invalid QF date “%(value)s” (DD/MM/YYYY expected)")
ROW_QF_START_MISSING = gettext_lazy("QF without a start date")
ROW_QF_WITHOUT_VALUE = gettext_lazy("QF dates without a QF value")
ROW_QF_PERIOD = gettext_lazy("the QF end date is before its start date")
ROW_QF_SOURCE_UNKNOWN = gettext_lazy("unknown QF source “%(value)s” (CAF, MSA, computed, declared)")
ROW_QF_OVERLAP = gettext_lazy(
    "the QF period overlaps the quotient of family %(reference)s valid from %(start)s to %(end)s")

WARN_DUPLICATE_CHILD = gettext_lazy(
    "child %(name)s already listed for family %(reference)s on line %(line)d: duplicate ignored")
WARN_FAMILY_VALUE_DIFFERS = gettext_lazy(
    "%(column)s of family %(reference)s differs from line %(line)d: “%(kept)s” kept")
WARN_EXISTING_VALUE_KEPT = gettext_lazy(
    "%(column)s: family %(reference)s already has “%(kept)s”, the file's value is ignored")
WARN_QF_DIFFERS = gettext_lazy(
    "QF of family %(reference)s differs from line %(line)d: the first one is kept")
WARN_COLUMNS_IGNORED = gettext_lazy("Columns ignored: %(columns)s.")
