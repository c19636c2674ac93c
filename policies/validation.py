"""Field rules of the policy feed (formats/policy-feed.md). Each check returns a clean value or
raises FieldError naming the column and the reason, in words an operator can act on."""

import datetime as dt
import re
from decimal import Decimal

from stdnum.cn import ric

from core.dates import parse_date
from core.money import parse_amount

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHECK_CHARACTERS = frozenset("0123456789X")
_BIRTHS: dict[str, dt.date] = {}  # characters 7-14 of resident IDs already read: their (valid) birth date


class FieldError(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason


def resident_id_clean(value: str, *, column: str = "holder_id_no") -> str:
    """An 18-character resident ID: digits, a real birth date in characters 7-14, and the
    GB 11643-1999 check digit (X in either case). The old 15-digit form is refused.

    python-stdnum computes the check digit and reads the birth date; its full validate() also
    insists on a known birthplace code, which the feed does not promise, so it is not used.
    """
    return resident_id_parse(value, column=column)[0]


def resident_id_parse(value: str, *, column: str = "holder_id_no") -> tuple[str, dt.date]:
    """resident_id_clean and the birth date it carries: (number, birth date).

    An ASCII number (every real one) is checked here with the same arithmetic as stdnum's
    ric.get_birth_date and ric.calc_check_digit, without their per-character clean-up; anything
    else takes the stdnum path."""
    number = (value or "").strip().upper()
    if len(number) == 18 and number.isascii() and number[:17].isdigit() and number[17] in _CHECK_CHARACTERS:
        birth = _BIRTHS.get(number[6:14])
        if birth is None:
            try:
                birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
            except ValueError:
                raise FieldError(column, f"characters 7-14 are not a valid birth date: {number[6:14]}") from None
            if birth.year < 1900:
                raise FieldError(column, f"birth date {birth.isoformat()} is before 1900")
            if len(_BIRTHS) >= 100_000:
                _BIRTHS.clear()
            _BIRTHS[number[6:14]] = birth
        checksum = (1 - 2 * int(number[:17], 13)) % 11
        expected = "X" if checksum == 10 else str(checksum)
        if number[17] != expected:
            raise FieldError(column, f"check digit is {number[17]}, expected {expected}")
        return number, birth
    if len(number) == 15 and number.isdigit():
        raise FieldError(column, "15-digit old ID numbers are not accepted; an 18-character ID is required")
    if len(number) != 18:
        raise FieldError(column, f"a resident ID has 18 characters, got {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise FieldError(column, "a resident ID is 17 digits followed by a digit or X")
    try:
        birth = ric.get_birth_date(number)
    except Exception:
        raise FieldError(column, f"characters 7-14 are not a valid birth date: {number[6:14]}") from None
    if birth.year < 1900:
        raise FieldError(column, f"birth date {birth.isoformat()} is before 1900")
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise FieldError(column, f"check digit is {number[17]}, expected {expected}")
    return number, birth


def resident_id_birth_date(number: str) -> dt.date:
    return ric.get_birth_date(number)


def resident_id_gender(number: str) -> str:
    """The 17th character: odd for men, even for women."""
    return "M" if int(number[16]) % 2 else "F"


def required(row: dict, column: str) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise FieldError(column, "required")
    return value


def optional(row: dict, column: str) -> str:
    return (row.get(column) or "").strip()


def date_field(row: dict, column: str, *, required_: bool = True) -> dt.date | None:
    value = optional(row, column)
    if not value:
        if required_:
            raise FieldError(column, "required")
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None


def amount_field(row: dict, column: str, *, positive: bool = True) -> Decimal:
    value = required(row, column)
    try:
        amount = parse_amount(value)
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None
    if positive and amount <= 0:
        raise FieldError(column, f"must be greater than 0, got {value}")
    if amount >= Decimal("1000000000000"):
        raise FieldError(column, f"too large: {value}")
    return amount


def int_field(row: dict, column: str, *, default: int | None = None, minimum: int = 0, maximum: int = 100) -> int:
    value = optional(row, column)
    if not value:
        if default is None:
            raise FieldError(column, "required")
        return default
    if not value.isdigit():
        raise FieldError(column, f"not a whole number: {value!r}")
    number = int(value)
    if not minimum <= number <= maximum:
        raise FieldError(column, f"must be between {minimum} and {maximum}, got {number}")
    return number


def choice_field(row: dict, column: str, choices, *, default: str | None = None) -> str:
    value = optional(row, column)
    if not value:
        if default is None:
            raise FieldError(column, "required")
        return default
    if value not in choices:
        raise FieldError(column, f"{value!r} is not one of {', '.join(choices)}")
    return value


def phone_field(row: dict, column: str) -> str:
    value = optional(row, column)
    if value and not MOBILE_RE.match(value):
        raise FieldError(column, f"not a mainland mobile number (11 digits starting 13-19): {value!r}")
    return value


def email_field(row: dict, column: str) -> str:
    value = optional(row, column)
    if value and (len(value) > 254 or not EMAIL_RE.match(value)):
        raise FieldError(column, f"not an e-mail address: {value!r}")
    return value


def max_length(column: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise FieldError(column, f"longer than {limit} characters")
    return value
