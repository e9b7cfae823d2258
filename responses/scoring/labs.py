"""Lab values that suggest SLEDAI-2K descriptors (clinical-rules.md section 1; strict
boundaries). A suggestion is never an answer: the coordinator decides."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

# --------------------------------------------------------------------------------------------

#: thrombocytopenia when platelets < 100 x10^9/L (Gladman 2002).
THROMBOCYTOPENIA_PLATELETS_BELOW = Decimal("100")
#: leukopenia when WBC < 3.0 x10^9/L (Gladman 2002).
LEUKOPENIA_WBC_BELOW = Decimal("3.0")
#: fever when the maximum temperature > 38.0 degrees C (Gladman 2002).
FEVER_TEMPERATURE_ABOVE_C = Decimal("38.0")
#: hematuria when urine RBC > 5 per high-power field (Gladman 2002).
HEMATURIA_RBC_ABOVE_PER_HPF = Decimal("5")
#: pyuria when urine WBC > 5 per high-power field (Gladman 2002).
PYURIA_WBC_ABOVE_PER_HPF = Decimal("5")
#: proteinuria when 24-h urine protein > 0.5 g (Gladman 2002).
PROTEINURIA_24H_ABOVE_G = Decimal("0.5")
#: proteinuria when the spot protein:creatinine ratio > 0.5 g/g (spec section 1).
PROTEINURIA_UPCR_ABOVE_G_PER_G = Decimal("0.5")
#: proteinuria when the spot protein:creatinine ratio > 50 mg/mmol (spec section 1's equivalent).
PROTEINURIA_UPCR_ABOVE_MG_PER_MMOL = Decimal("50")

UPCR_UNIT_G_PER_G = "g/g"
UPCR_UNIT_MG_PER_MMOL = "mg/mmol"
UPCR_THRESHOLDS: dict[str, Decimal] = {
    UPCR_UNIT_G_PER_G: PROTEINURIA_UPCR_ABOVE_G_PER_G,
    UPCR_UNIT_MG_PER_MMOL: PROTEINURIA_UPCR_ABOVE_MG_PER_MMOL,
}


#: The lab values that are numbers (each a Decimal or None in Labs).
LAB_DECIMAL_FIELDS: tuple[str, ...] = (
    "platelets",
    "wbc",
    "max_temperature_c",
    "urine_rbc_per_hpf",
    "urine_wbc_per_hpf",
    "protein_24h_g",
    "upcr",
    "c3",
    "c3_lower_limit",
    "c4",
    "c4_lower_limit",
    "anti_dsdna",
    "anti_dsdna_upper_limit",
)


@dataclass(frozen=True)
class Labs:
    """Hold the lab values of one visit; None means not done.

    Units: platelets and WBC x10^9/L, temperature degrees C, urine cells per high-power field,
    24-h protein in g, UPCR in ``upcr_unit`` ("g/g" or "mg/mmol"); complement and anti-dsDNA in
    the local lab's units, each with that lab's limit.
    """

    platelets: Decimal | None = None
    wbc: Decimal | None = None
    max_temperature_c: Decimal | None = None
    urine_rbc_per_hpf: Decimal | None = None
    urine_wbc_per_hpf: Decimal | None = None
    urinary_casts: bool | None = None
    protein_24h_g: Decimal | None = None
    upcr: Decimal | None = None
    upcr_unit: str | None = None
    c3: Decimal | None = None
    c3_lower_limit: Decimal | None = None
    c4: Decimal | None = None
    c4_lower_limit: Decimal | None = None
    anti_dsdna: Decimal | None = None
    anti_dsdna_upper_limit: Decimal | None = None

    def __post_init__(self) -> None:
        """Reject non-Decimal, non-finite and negative numbers and unknown UPCR units."""
        for name in LAB_DECIMAL_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, Decimal):
                raise TypeError(f"{name} must be a Decimal or None, not {value!r}")
            if not value.is_finite():
                raise ValueError(f"{name} must be a finite number, not {value}")
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.upcr_unit is not None and self.upcr_unit not in UPCR_THRESHOLDS:
            raise ValueError(
                f"UPCR unit must be one of {', '.join(UPCR_THRESHOLDS)}, not {self.upcr_unit!r}"
            )


#: Every lab value of a visit, in form order: each value next to its unit or its lab's limit.
LAB_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(Labs))


def _proteinuria_suggested(labs: Labs) -> bool:
    """Return True if 24-h protein, or failing that the spot UPCR, exceeds its cut-off."""
    if labs.protein_24h_g is not None:
        # The 24-h collection is the reference measurement and wins over a spot ratio.
        return labs.protein_24h_g > PROTEINURIA_24H_ABOVE_G
    if labs.upcr is not None and labs.upcr_unit is not None:
        return labs.upcr > UPCR_THRESHOLDS[labs.upcr_unit]
    return False


def _below(value: Decimal | None, limit: Decimal | None) -> bool:
    """Return True if both are known and value is strictly below limit."""
    return value is not None and limit is not None and value < limit


def _above(value: Decimal | None, limit: Decimal | None) -> bool:
    """Return True if both are known and value is strictly above limit."""
    return value is not None and limit is not None and value > limit


def sledai_suggestions(labs: Labs) -> frozenset[str]:
    """Return the SLEDAI-2K field names the lab values suggest (strict cut-offs, spec section 1).

    A suggestion is a prompt for the coordinator, who still confirms attribution to lupus;
    a missing value or a missing lab limit yields no suggestion for that item.
    """
    suggested: set[str] = set()
    if _below(labs.platelets, THROMBOCYTOPENIA_PLATELETS_BELOW):
        suggested.add("thrombocytopenia")
    if _below(labs.wbc, LEUKOPENIA_WBC_BELOW):
        suggested.add("leukopenia")
    if _above(labs.max_temperature_c, FEVER_TEMPERATURE_ABOVE_C):
        suggested.add("fever")
    if _above(labs.urine_rbc_per_hpf, HEMATURIA_RBC_ABOVE_PER_HPF):
        suggested.add("hematuria")
    if _above(labs.urine_wbc_per_hpf, PYURIA_WBC_ABOVE_PER_HPF):
        suggested.add("pyuria")
    if labs.urinary_casts is True:
        suggested.add("urinary_casts")
    if _proteinuria_suggested(labs):
        suggested.add("proteinuria")
    if _below(labs.c3, labs.c3_lower_limit) or _below(labs.c4, labs.c4_lower_limit):
        suggested.add("low_complement")
    if _above(labs.anti_dsdna, labs.anti_dsdna_upper_limit):
        suggested.add("increased_dna_binding")
    return frozenset(suggested)
