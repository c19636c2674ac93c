"""Money is Decimal with two places, rounded half-up; never float."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_amount(value: str) -> Decimal:
    """A feed amount: digits with a dot and up to two decimals. Raises ValueError."""
    text = (value or "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    exponent = amount.as_tuple().exponent  # an int for a finite number ('n', 'N', 'F' otherwise)
    if not amount.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise ValueError(f"not an amount with at most two decimals: {value!r}")
    return amount.quantize(CENT)


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
