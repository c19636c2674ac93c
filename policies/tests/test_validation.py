import pytest

from policies.validation import FieldError, resident_id_clean


@pytest.mark.parametrize(
    "number, expected",
    [
        ("11010519491231002X", "11010519491231002X"),  # GB 11643's example, check digit X
        ("11010519491231002x", "11010519491231002X"),  # lower-case x accepted, stored upper-case
        ("110105198001010024", "110105198001010024"),
        ("440106200002290016", "440106200002290016"),  # born on a leap day
    ],
)
def test_resident_id_accepts_valid_numbers(number, expected):
    assert resident_id_clean(number) == expected


@pytest.mark.parametrize(
    "number, reason",
    [
        ("110105491231002", "15-digit old ID numbers are not accepted"),
        ("110105198001010025", "check digit is 5, expected 4"),
        ("11010519491231002Y", "a resident ID is 17 digits followed by a digit or X"),
        ("440106200102290013", "characters 7-14 are not a valid birth date: 20010229"),  # 2001 is no leap year
        ("1101051980010100", "a resident ID has 18 characters, got 16"),
    ],
)
def test_resident_id_refuses_with_reason(number, reason):
    with pytest.raises(FieldError) as info:
        resident_id_clean(number)
    assert info.value.column == "holder_id_no"
    assert info.value.reason.startswith(reason)
