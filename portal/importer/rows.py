"""Reading the file and checking each row on its own (no database)."""

import codecs
import csv
import datetime
import io
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from portal.importer.columns import (
    ALIASES,
    CIVILITY_ALIASES,
    CLASS_ALIASES,
    DEFAULT_QF_SOURCE,
    GUARDIAN_FIELDS,
    MAX_LENGTHS,
    QF_SOURCES,
    REQUIRED_COLUMNS,
    column_label,
    header_key,
)
from portal.importer.messages import (
    ERROR_COLUMN_TWICE,
    ERROR_COLUMNS_MISSING,
    ERROR_FILE_EMPTY,
    ERROR_FILE_UNREADABLE,
    ROW_BIRTH_DATE_FUTURE,
    ROW_BIRTH_DATE_INVALID,
    ROW_BIRTH_DATE_MISSING,
    ROW_CHILD_NAME_MISSING,
    ROW_CIVILITY_INVALID,
    ROW_CLASS_UNKNOWN,
    ROW_EMAIL_INVALID,
    ROW_GUARDIAN_NAME_MISSING,
    ROW_PHONE_INVALID,
    ROW_POSTCODE_INVALID,
    ROW_QF_DATE_INVALID,
    ROW_QF_NOT_A_NUMBER,
    ROW_QF_PERIOD,
    ROW_QF_SOURCE_UNKNOWN,
    ROW_QF_START_MISSING,
    ROW_QF_WITHOUT_VALUE,
    ROW_REFERENCE_MISSING,
    ROW_SAME_EMAIL,
    ROW_SCHOOL_UNKNOWN,
    ROW_TOO_LONG,
    ROW_TOO_MANY_FIELDS,
)
from portal.models import Facility
from portal.normalize import normalize_name
from portal.services.families import (
    child_search_name,
    clean_email,
    clean_phone,
    clean_postcode,
    guardian_search_name,
)


def decode(data: bytes) -> str:
    """UTF-16 with BOM, UTF-8 with or without BOM, else Windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(ERROR_FILE_UNREADABLE)


def sniff_delimiter(header_line: str) -> str:
    """The separator is the one the header line uses most (headers never contain one)."""
    return max((";", ",", "\t"), key=header_line.count)


@dataclass
class RawRow:
    line: int
    values: dict[str, str]
    extra: int = 0  # fields beyond the header


def read_rows(text: str) -> tuple[list[str], list[RawRow], list[str]]:
    """(canonical columns found, rows, ignored header names)."""
    text = text.lstrip("\ufeff")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if not first_line:
        raise ValidationError(ERROR_FILE_EMPTY)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    # a value that breaks the CSV syntax (a NUL byte...) makes the whole file unusable
    header: list[str] = []
    while not any(cell.strip() for cell in header):
        header = next(reader, None)
        if header is None:
            raise ValidationError(ERROR_FILE_EMPTY)
    keys: list[str | None] = []
    ignored, seen = [], {}
    for name in header:
        key = ALIASES.get(header_key(name))
        if key is None:
            if name.strip():
                ignored.append(name.strip())
        elif key in seen:
            raise ValidationError(ERROR_COLUMN_TWICE % {"first": seen[key], "second": name})
        else:
            seen[key] = name
        keys.append(key)
    missing = [column_label(key) for key in REQUIRED_COLUMNS if key not in seen]
    if missing:
        raise ValidationError(ERROR_COLUMNS_MISSING % {"columns": ", ".join(missing)})
    rows = []
    previous_end = reader.line_num
    try:
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            values = {key: (cells[i].strip() if i < len(cells) else "")
                      for i, key in enumerate(keys) if key is not None}
            extra = sum(1 for cell in cells[len(keys):] if cell.strip())
            rows.append(RawRow(line=start, values=values, extra=extra))
    except csv.Error:
        raise ValidationError(ERROR_FILE_UNREADABLE) from None
    return list(seen), rows, ignored


_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_date(value: str) -> datetime.date:
    """'07/03/2016', '7/3/2016', '07.03.2016', '07/03/2016 00:00' or '2016-03-07'."""
    if match := _DATE.match(value):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO_DATE.match(value):
        year, month, day = (int(part) for part in match.groups())
    else:
        raise ValueError(value)
    return datetime.date(year, month, day)


def parse_quotient(value: str) -> int:
    """'845', '1 234', '845,00', '845.5' -> whole euros, rounded half up."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", value).replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite() or number < 0:
        raise ValueError(value)
    return int(number.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


@dataclass
class GuardianRow:
    number: int
    first_name: str
    last_name: str
    email: str
    phone: str
    civility: str = ""

    @property
    def search_name(self) -> str:
        return guardian_search_name(first_name=self.first_name, last_name=self.last_name)


@dataclass
class QuotientRow:
    value: int
    source: str
    valid_from: datetime.date
    valid_until: datetime.date | None

    @property
    def key(self):
        return (self.value, self.source, self.valid_from, self.valid_until)


@dataclass
class ParsedRow:
    line: int
    reference: str
    family: dict[str, str]      # family_name (maybe derived) and FAMILY_COLUMNS
    name_given: bool            # the family name comes from its own column
    guardians: list[GuardianRow]
    child: dict
    quotient: QuotientRow | None


def parse_row(raw: RawRow, *, schools: dict[str, Facility], today) -> ParsedRow | list[str]:
    """A checked row, or the list of reasons to reject it."""
    v = raw.values.get
    errors: list[str] = []
    if raw.extra:
        errors.append(ROW_TOO_MANY_FIELDS % {"found": len(raw.values) + raw.extra,
                                             "expected": len(raw.values)})
    for key, limit in MAX_LENGTHS.items():
        if len(v(key, "")) > limit:
            errors.append(ROW_TOO_LONG % {"column": column_label(key), "max": limit})
    reference = v("reference", "")
    if not reference:
        errors.append(str(ROW_REFERENCE_MISSING))

    guardians = []
    for number in (1, 2):
        prefix = f"g{number}_"
        data = {what: v(prefix + what, "") for what in GUARDIAN_FIELDS}
        if number == 2 and not any(data.values()):
            continue
        if not (data["first_name"] and data["last_name"]):
            errors.append(ROW_GUARDIAN_NAME_MISSING % {"number": number})
        try:
            data["email"] = clean_email(data["email"])
        except ValidationError:
            errors.append(ROW_EMAIL_INVALID % {"value": data["email"], "number": number})
        try:
            data["phone"] = clean_phone(data["phone"])
        except ValidationError:
            errors.append(ROW_PHONE_INVALID % {"value": data["phone"], "number": number})
        civility = data["civility"]
        data["civility"] = CIVILITY_ALIASES.get(normalize_name(civility), "") if civility else ""
        if civility and not data["civility"]:
            errors.append(ROW_CIVILITY_INVALID % {"value": civility, "number": number})
        guardians.append(GuardianRow(number=number, **data))
    if len(guardians) == 2 and guardians[0].email and guardians[0].email == guardians[1].email:
        errors.append(str(ROW_SAME_EMAIL))

    try:
        postcode = clean_postcode(v("postcode", ""))
    except ValidationError:
        postcode = ""
        errors.append(ROW_POSTCODE_INVALID % {"value": v("postcode")})
    family = {"address_line1": v("address_line1", ""), "address_line2": v("address_line2", ""),
              "postcode": postcode, "city": v("city", "")}
    name_given = bool(v("family_name"))
    if name_given:
        family["family_name"] = v("family_name")
    else:
        last_names = []
        for guardian in guardians:
            if guardian.last_name and normalize_name(guardian.last_name) not in {
                    normalize_name(name) for name in last_names}:
                last_names.append(guardian.last_name)
        family["family_name"] = (" / ".join(last_names) or v("child_last_name", ""))[:150]

    first_name, last_name = v("child_first_name", ""), v("child_last_name", "")
    if not (first_name and last_name):
        errors.append(str(ROW_CHILD_NAME_MISSING))
    birth_date = None
    if not v("child_birth_date"):
        errors.append(str(ROW_BIRTH_DATE_MISSING))
    else:
        try:
            birth_date = parse_date(v("child_birth_date"))
        except ValueError:
            errors.append(ROW_BIRTH_DATE_INVALID % {"value": v("child_birth_date")})
        else:
            if birth_date > today:
                errors.append(ROW_BIRTH_DATE_FUTURE % {"value": v("child_birth_date")})
    class_level = ""
    if v("class_level"):
        class_level = CLASS_ALIASES.get(header_key(v("class_level")), "")
        if not class_level:
            errors.append(ROW_CLASS_UNKNOWN % {"value": v("class_level")})
    school = None
    if v("school"):
        school = schools.get(normalize_name(v("school")))
        if school is None:
            errors.append(ROW_SCHOOL_UNKNOWN % {"value": v("school")})
    child = {"first_name": first_name, "last_name": last_name, "birth_date": birth_date,
             "search_name": child_search_name(first_name=first_name, last_name=last_name),
             "school": school, "class_level": class_level}

    quotient = None
    dates = {}
    for key in ("qf_from", "qf_until"):
        if v(key):
            try:
                dates[key] = parse_date(v(key))
            except ValueError:
                errors.append(ROW_QF_DATE_INVALID % {"value": v(key)})
    source = DEFAULT_QF_SOURCE
    if v("qf_source"):
        source = QF_SOURCES.get(header_key(v("qf_source")))
        if source is None:
            errors.append(ROW_QF_SOURCE_UNKNOWN % {"value": v("qf_source")})
    if v("qf"):
        try:
            value = parse_quotient(v("qf"))
        except ValueError:
            errors.append(ROW_QF_NOT_A_NUMBER % {"value": v("qf")})
            value = None
        if not v("qf_from"):
            errors.append(str(ROW_QF_START_MISSING))
        start, end = dates.get("qf_from"), dates.get("qf_until")
        if start and end and end < start:
            errors.append(str(ROW_QF_PERIOD))
        if not errors:
            quotient = QuotientRow(value, source, start, end)
    elif v("qf_from") or v("qf_until"):
        errors.append(str(ROW_QF_WITHOUT_VALUE))

    if errors:
        return [str(error) for error in errors]
    return ParsedRow(line=raw.line, reference=reference, family=family, name_given=name_given,
                     guardians=guardians, child=child, quotient=quotient)
