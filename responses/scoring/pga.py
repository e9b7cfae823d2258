"""Physician Global Assessment (clinical-rules.md section 2): 0.00 to 3.00, two decimals."""

from __future__ import annotations

from decimal import Decimal

PGA_MIN = Decimal("0.00")
PGA_MAX = Decimal("3.00")
#: PGA is stored with two decimal places (spec section 2).
PGA_QUANTUM = Decimal("0.01")


def validate_pga(value: Decimal) -> Decimal:
    """Return the PGA quantized to 0.01; raise ValueError unless 0.00..3.00 with <= 2 decimals.

    Trailing zeros do not count as decimal places (``Decimal("1.230")`` is 1.23). Floats are
    refused with TypeError because binary floating point cannot hold PGA values exactly.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"PGA must be a Decimal, not {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"PGA must be a number between 0.00 and 3.00, not {value}")
    if not PGA_MIN <= value <= PGA_MAX:
        raise ValueError(f"PGA {value} is outside 0.00..3.00")
    quantized = value.quantize(PGA_QUANTUM)
    if quantized != value:
        raise ValueError(f"PGA {value} has more than two decimal places")
    # Adding zero turns a negative zero into 0.00.
    return quantized + PGA_MIN


def format_pga(value: Decimal) -> str:
    """Format a PGA value or difference with exactly two decimals."""
    return f"{value.quantize(PGA_QUANTUM):.2f}"
