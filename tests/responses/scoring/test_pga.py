"""PGA (responses.scoring.pga): two decimals between 0.00 and 3.00."""

from __future__ import annotations

import pytest

from responses.scoring.pga import validate_pga
from tests.responses.scoring.answers import D

# --------------------------------------------------------------------------------------------
# PGA
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0", "0.00"),
        ("0.00", "0.00"),
        ("-0.00", "0.00"),
        ("1.5", "1.50"),
        ("1.230", "1.23"),
        ("2.99", "2.99"),
        ("3.00", "3.00"),
    ],
    ids=lambda value: value,
)
def test_valid_pga_is_returned_with_two_decimals(value: str, stored: str) -> None:
    result = validate_pga(D(value))
    assert str(result) == stored


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3.01", "outside"),
        ("-0.01", "outside"),
        ("4", "outside"),
        ("1.234", "more than two decimal places"),
        ("0.001", "more than two decimal places"),
        ("NaN", "between 0.00 and 3.00"),
        ("sNaN", "between 0.00 and 3.00"),
        ("Infinity", "between 0.00 and 3.00"),
        ("-Infinity", "between 0.00 and 3.00"),
    ],
    ids=lambda value: value,
)
def test_invalid_pga_is_rejected_with_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_pga(D(value))


def test_pga_as_binary_float_is_rejected() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        validate_pga(1.5)  # type: ignore[arg-type]
