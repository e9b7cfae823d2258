"""Score SLEDAI-2K, PGA, BILAG-2004 and SRI-X for the pediatric lupus CAR-T trial.

Pure Python (standard library only, no Django) so the rules can be tested without a database.
Every number comes from ``/work/shared/spec/clinical-rules.md`` sections 1-4; the source of
each threshold is named beside it:

- Gladman 2002: SLEDAI-2K descriptors, weights and definitions.
- Furie 2009: SLE Responder Index (SRI-X).
- Isenberg 2005, Yee 2010: BILAG-2004 grades and the numeric score.

Translatable English strings are wrapped in :func:`gettext_noop` so Django's ``makemessages``
extracts them without this module importing Django; the display layer translates later with
``gettext(part.template) % part.params``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType


def gettext_noop(message: str) -> str:
    """Return ``message`` unchanged; mark it for translation extraction (as Django's does)."""
    return message


# --------------------------------------------------------------------------------------------
# Outcomes and bands
# --------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    """Name the outcome of an SRI-X comparison (spec section 4)."""

    RESPONDER = gettext_noop("responder")
    NON_RESPONDER = gettext_noop("non-responder")
    NOT_EVALUABLE = gettext_noop("not evaluable")


class ActivityBand(StrEnum):
    """Name the descriptive SLEDAI-2K activity band shown beside a total (spec section 1)."""

    NONE = gettext_noop("none")
    MILD = gettext_noop("mild")
    MODERATE = gettext_noop("moderate")
    HIGH = gettext_noop("high")
    VERY_HIGH = gettext_noop("very high")


# --------------------------------------------------------------------------------------------
# SLEDAI-2K (spec section 1; Gladman 2002)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SledaiDescriptor:
    """Describe one SLEDAI-2K descriptor as the form shows it."""

    number: int
    field: str
    label: str
    weight: int
    definition: str
    organ: str


SLEDAI_ORGAN_NEUROLOGICAL = gettext_noop("Neurological")
SLEDAI_ORGAN_VASCULAR = gettext_noop("Vascular")
SLEDAI_ORGAN_MUSCULOSKELETAL = gettext_noop("Musculoskeletal")
SLEDAI_ORGAN_RENAL = gettext_noop("Renal")
SLEDAI_ORGAN_MUCOCUTANEOUS = gettext_noop("Mucocutaneous")
SLEDAI_ORGAN_SEROSAL = gettext_noop("Serosal")
SLEDAI_ORGAN_IMMUNOLOGICAL = gettext_noop("Immunological")
SLEDAI_ORGAN_CONSTITUTIONAL = gettext_noop("Constitutional")
SLEDAI_ORGAN_HAEMATOLOGICAL = gettext_noop("Haematological")

#: Organ groups in form order.
SLEDAI_ORGANS: tuple[str, ...] = (
    SLEDAI_ORGAN_NEUROLOGICAL,
    SLEDAI_ORGAN_VASCULAR,
    SLEDAI_ORGAN_MUSCULOSKELETAL,
    SLEDAI_ORGAN_RENAL,
    SLEDAI_ORGAN_MUCOCUTANEOUS,
    SLEDAI_ORGAN_SEROSAL,
    SLEDAI_ORGAN_IMMUNOLOGICAL,
    SLEDAI_ORGAN_CONSTITUTIONAL,
    SLEDAI_ORGAN_HAEMATOLOGICAL,
)

#: Shown next to each descriptor on the form (spec section 1).
SLEDAI_ATTRIBUTION_NOTE = gettext_noop(
    "Score only if attributable to active lupus, not to damage, infection or drugs."
)

#: The 24 SLEDAI-2K descriptors in spec order (Gladman 2002).
SLEDAI_DESCRIPTORS: tuple[SledaiDescriptor, ...] = (
    SledaiDescriptor(
        1,
        "seizure",
        gettext_noop("Seizure"),
        8,
        gettext_noop("Recent onset; not metabolic, infectious or drug-induced."),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        2,
        "psychosis",
        gettext_noop("Psychosis"),
        8,
        gettext_noop("Severe disturbance in perception of reality; not uraemia or drugs."),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        3,
        "organic_brain_syndrome",
        gettext_noop("Organic brain syndrome"),
        8,
        gettext_noop(
            "Rapid-onset, fluctuating impaired orientation/memory/cognition with clouded "
            "consciousness and at least 2 further features."
        ),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        4,
        "visual_disturbance",
        gettext_noop("Visual disturbance"),
        8,
        gettext_noop(
            "Retinal changes of SLE (cytoid bodies, haemorrhages, choroidal exudate) "
            "or optic neuritis."
        ),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        5,
        "cranial_nerve_disorder",
        gettext_noop("Cranial nerve disorder"),
        8,
        gettext_noop("New sensory or motor neuropathy of cranial nerves."),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        6,
        "lupus_headache",
        gettext_noop("Lupus headache"),
        8,
        gettext_noop("Severe persistent headache unresponsive to narcotic analgesia."),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        7,
        "cva",
        gettext_noop("CVA"),
        8,
        gettext_noop("New cerebrovascular accident, not arteriosclerotic."),
        SLEDAI_ORGAN_NEUROLOGICAL,
    ),
    SledaiDescriptor(
        8,
        "vasculitis",
        gettext_noop("Vasculitis"),
        8,
        gettext_noop(
            "Ulceration, gangrene, tender finger nodules, periungual infarction, splinter "
            "haemorrhages, or biopsy/angiogram proof."
        ),
        SLEDAI_ORGAN_VASCULAR,
    ),
    SledaiDescriptor(
        9,
        "arthritis",
        gettext_noop("Arthritis"),
        4,
        gettext_noop("At least 2 joints with pain and signs of inflammation."),
        SLEDAI_ORGAN_MUSCULOSKELETAL,
    ),
    SledaiDescriptor(
        10,
        "myositis",
        gettext_noop("Myositis"),
        4,
        gettext_noop(
            "Proximal muscle aching/weakness with raised CK/aldolase, EMG or biopsy evidence."
        ),
        SLEDAI_ORGAN_MUSCULOSKELETAL,
    ),
    SledaiDescriptor(
        11,
        "urinary_casts",
        gettext_noop("Urinary casts"),
        4,
        gettext_noop("Heme-granular or red-cell casts."),
        SLEDAI_ORGAN_RENAL,
    ),
    SledaiDescriptor(
        12,
        "hematuria",
        gettext_noop("Haematuria"),
        4,
        gettext_noop("More than 5 red cells per high-power field, other causes excluded."),
        SLEDAI_ORGAN_RENAL,
    ),
    SledaiDescriptor(
        13,
        "proteinuria",
        gettext_noop("Proteinuria"),
        4,
        gettext_noop("More than 0.5 g/24 h (persistent counts in SLEDAI-2K)."),
        SLEDAI_ORGAN_RENAL,
    ),
    SledaiDescriptor(
        14,
        "pyuria",
        gettext_noop("Pyuria"),
        4,
        gettext_noop("More than 5 white cells per high-power field, infection excluded."),
        SLEDAI_ORGAN_RENAL,
    ),
    SledaiDescriptor(
        15,
        "rash",
        gettext_noop("Rash"),
        2,
        gettext_noop("Inflammatory lupus rash, new or ongoing."),
        SLEDAI_ORGAN_MUCOCUTANEOUS,
    ),
    SledaiDescriptor(
        16,
        "alopecia",
        gettext_noop("Alopecia"),
        2,
        gettext_noop("Abnormal patchy or diffuse hair loss, new or ongoing."),
        SLEDAI_ORGAN_MUCOCUTANEOUS,
    ),
    SledaiDescriptor(
        17,
        "mucosal_ulcers",
        gettext_noop("Mucosal ulcers"),
        2,
        gettext_noop("Oral or nasal ulcers, new or ongoing."),
        SLEDAI_ORGAN_MUCOCUTANEOUS,
    ),
    SledaiDescriptor(
        18,
        "pleurisy",
        gettext_noop("Pleurisy"),
        2,
        gettext_noop("Pleuritic pain with rub, effusion or pleural thickening."),
        SLEDAI_ORGAN_SEROSAL,
    ),
    SledaiDescriptor(
        19,
        "pericarditis",
        gettext_noop("Pericarditis"),
        2,
        gettext_noop("Pericardial pain with rub, effusion, or ECG/echo confirmation."),
        SLEDAI_ORGAN_SEROSAL,
    ),
    SledaiDescriptor(
        20,
        "low_complement",
        gettext_noop("Low complement"),
        2,
        gettext_noop("CH50, C3 or C4 below the lab's lower limit of normal."),
        SLEDAI_ORGAN_IMMUNOLOGICAL,
    ),
    SledaiDescriptor(
        21,
        "increased_dna_binding",
        gettext_noop("Increased DNA binding"),
        2,
        gettext_noop("Anti-dsDNA above the lab's normal range."),
        SLEDAI_ORGAN_IMMUNOLOGICAL,
    ),
    SledaiDescriptor(
        22,
        "fever",
        gettext_noop("Fever"),
        1,
        gettext_noop("Temperature above 38 °C, infection excluded."),
        SLEDAI_ORGAN_CONSTITUTIONAL,
    ),
    SledaiDescriptor(
        23,
        "thrombocytopenia",
        gettext_noop("Thrombocytopenia"),
        1,
        gettext_noop("Platelets below 100 x10^9/L, drugs excluded."),
        SLEDAI_ORGAN_HAEMATOLOGICAL,
    ),
    SledaiDescriptor(
        24,
        "leukopenia",
        gettext_noop("Leukopenia"),
        1,
        gettext_noop("White cells below 3.0 x10^9/L, drugs excluded."),
        SLEDAI_ORGAN_HAEMATOLOGICAL,
    ),
)

SLEDAI_FIELDS: tuple[str, ...] = tuple(d.field for d in SLEDAI_DESCRIPTORS)
SLEDAI_WEIGHTS: dict[str, int] = {d.field: d.weight for d in SLEDAI_DESCRIPTORS}

#: Items 20 and 21, excluded from clinical SLEDAI-2K (spec section 1).
SLEDAI_SEROLOGY_FIELDS: tuple[str, ...] = ("low_complement", "increased_dna_binding")
SLEDAI_CLINICAL_FIELDS: tuple[str, ...] = tuple(
    f for f in SLEDAI_FIELDS if f not in SLEDAI_SEROLOGY_FIELDS
)

#: 8x8 + 6x4 + 7x2 + 3x1 (Gladman 2002).
SLEDAI_MAX = 105

# Lower bounds of the descriptive activity bands: 0 none, 1-5 mild, 6-10 moderate,
# 11-19 high, 20+ very high (spec section 1).
ACTIVITY_BAND_MILD_FROM = 1
ACTIVITY_BAND_MODERATE_FROM = 6
ACTIVITY_BAND_HIGH_FROM = 11
ACTIVITY_BAND_VERY_HIGH_FROM = 20


def _sum_weights(answers: Mapping[str, bool | None], fields: Sequence[str]) -> int | None:
    """Sum the weights of present descriptors; return None if any of ``fields`` is unanswered."""
    total = 0
    for name in fields:
        value = answers.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise TypeError(f"SLEDAI-2K answer {name!r} must be True, False or None, not {value!r}")
        if value:
            total += SLEDAI_WEIGHTS[name]
    return total


def sledai_total(answers: Mapping[str, bool | None]) -> int | None:
    """Return the SLEDAI-2K total (0..105), or None if any of the 24 descriptors is unanswered.

    Keys other than the 24 field names are ignored.
    """
    return _sum_weights(answers, SLEDAI_FIELDS)


def clinical_sledai_total(answers: Mapping[str, bool | None]) -> int | None:
    """Return SLEDAI-2K without items 20 and 21 (0..101).

    Return None if any of the 22 clinical descriptors is unanswered; the two serology items
    may be missing because they do not count.
    """
    return _sum_weights(answers, SLEDAI_CLINICAL_FIELDS)


def activity_band(total: int) -> ActivityBand:
    """Return the descriptive activity band for a SLEDAI-2K total; reject totals outside 0..105."""
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"SLEDAI-2K total must be an int, not {total!r}")
    if not 0 <= total <= SLEDAI_MAX:
        raise ValueError(f"SLEDAI-2K total {total} is outside 0..{SLEDAI_MAX}")
    if total >= ACTIVITY_BAND_VERY_HIGH_FROM:
        return ActivityBand.VERY_HIGH
    if total >= ACTIVITY_BAND_HIGH_FROM:
        return ActivityBand.HIGH
    if total >= ACTIVITY_BAND_MODERATE_FROM:
        return ActivityBand.MODERATE
    if total >= ACTIVITY_BAND_MILD_FROM:
        return ActivityBand.MILD
    return ActivityBand.NONE


# --------------------------------------------------------------------------------------------
# Lab-assisted SLEDAI-2K suggestions (spec section 1; strict boundaries)
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


# --------------------------------------------------------------------------------------------
# Physician Global Assessment (spec section 2)
# --------------------------------------------------------------------------------------------

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


def _format_pga(value: Decimal) -> str:
    """Format a PGA value or difference with exactly two decimals."""
    return f"{value.quantize(PGA_QUANTUM):.2f}"


# --------------------------------------------------------------------------------------------
# BILAG-2004 (spec section 3; Isenberg 2005, Yee 2010)
# --------------------------------------------------------------------------------------------

#: The nine systems in spec order (Isenberg 2005).
BILAG_SYSTEMS: tuple[str, ...] = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
BILAG_SYSTEM_LABELS: dict[str, str] = {
    "constitutional": gettext_noop("Constitutional"),
    "mucocutaneous": gettext_noop("Mucocutaneous"),
    "neuropsychiatric": gettext_noop("Neuropsychiatric"),
    "musculoskeletal": gettext_noop("Musculoskeletal"),
    "cardiorespiratory": gettext_noop("Cardiorespiratory"),
    "gastrointestinal": gettext_noop("Gastrointestinal"),
    "ophthalmic": gettext_noop("Ophthalmic"),
    "renal": gettext_noop("Renal"),
    "haematological": gettext_noop("Haematological"),
}
BILAG_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
BILAG_GRADE_LABELS: dict[str, str] = {
    "A": gettext_noop("A: severe activity needing high-dose steroid or immunosuppression"),
    "B": gettext_noop("B: moderate activity"),
    "C": gettext_noop("C: mild stable activity"),
    "D": gettext_noop("D: previously involved, inactive now"),
    "E": gettext_noop("E: never involved"),
}
#: Numeric BILAG-2004 score per grade (Yee 2010); total range 0..108.
BILAG_NUMERIC: dict[str, int] = {"A": 12, "B": 8, "C": 1, "D": 0, "E": 0}
#: Grades that mean the system has been involved; E may not follow any of them (spec section 3).
BILAG_INVOLVED_GRADES: frozenset[str] = frozenset({"A", "B", "C", "D"})


def _check_grade(system: str, grade: str | None) -> None:
    """Raise ValueError if ``grade`` is neither None nor one of A..E."""
    if grade is not None and grade not in BILAG_GRADES:
        raise ValueError(f"BILAG-2004 grade for {system} must be one of A-E, not {grade!r}")


def _bilag_complete(grades: Mapping[str, str | None]) -> bool:
    """Return True if all nine systems are graded."""
    return all(grades.get(system) is not None for system in BILAG_SYSTEMS)


def bilag_numeric_score(grades: Mapping[str, str | None]) -> int | None:
    """Return the numeric BILAG-2004 score (0..108), or None if any system is not graded."""
    total = 0
    for system in BILAG_SYSTEMS:
        grade = grades.get(system)
        _check_grade(system, grade)
        if grade is None:
            return None
        total += BILAG_NUMERIC[grade]
    return total


def bilag_e_after_involvement(
    history: Sequence[Mapping[str, str | None]],
) -> list[tuple[int, str]]:
    """Return (visit index, system) for every E graded after that system was A..D earlier.

    ``history`` holds one participant's grade maps in visit-date order. Ungraded systems are
    skipped. The result is ordered by visit index, then by system in spec order.
    """
    involved: set[str] = set()
    impossible: list[tuple[int, str]] = []
    for index, grades in enumerate(history):
        for system in BILAG_SYSTEMS:
            grade = grades.get(system)
            _check_grade(system, grade)
            if grade == "E" and system in involved:
                impossible.append((index, system))
        # Update after the whole visit so a visit is only compared with earlier ones.
        involved.update(
            system for system in BILAG_SYSTEMS if grades.get(system) in BILAG_INVOLVED_GRADES
        )
    return impossible


# --------------------------------------------------------------------------------------------
# Treatment failure (spec section 4, rule 5)
# --------------------------------------------------------------------------------------------


def treatment_failed(
    *, visit_date: date, treatment_failure_date: date | None, withdrawal_date: date | None
) -> bool:
    """Return True if treatment failure or withdrawal happened on or before the visit date."""
    return any(
        event is not None and event <= visit_date
        for event in (treatment_failure_date, withdrawal_date)
    )


# --------------------------------------------------------------------------------------------
# SRI-X (spec section 4; Furie 2009)
# --------------------------------------------------------------------------------------------

#: PGA worsens when visit - baseline >= 0.30 (Furie 2009); exactly 0.30 is worsening.
SRI_PGA_WORSENING = Decimal("0.30")
#: At most one new BILAG B is allowed (Furie 2009).
SRI_MAX_NEW_BILAG_B = 1
#: New BILAG A systems allowed (Furie 2009): none.
SRI_MAX_NEW_BILAG_A = 0
#: SRI-4 is the primary endpoint; SRI-5 and SRI-6 are secondary (spec section 4).
#: Baseline grades from which a B at the visit counts as new (spec section 4, rule 3).
SRI_NEW_B_FROM_GRADES: frozenset[str] = frozenset({"C", "D", "E"})


@dataclass(frozen=True)
class Assessment:
    """Hold one visit's SLEDAI-2K answers, PGA and BILAG-2004 grades (None = not recorded).

    The mappings are copied into read-only views so the assessment cannot change afterwards.
    """

    sledai: Mapping[str, bool | None]
    pga: Decimal | None
    bilag: Mapping[str, str | None]
    #: False while the visit's form is saved "in progress": its data do not count as complete.
    entry_complete: bool = True
    #: The SLEDAI-2K look-back window the answers were given for (10 or 30 days; None unknown).
    sledai_lookback_days: int | None = None

    def __post_init__(self) -> None:
        """Validate the PGA and grades and freeze the mappings."""
        if self.pga is not None:
            object.__setattr__(self, "pga", validate_pga(self.pga))
        for system, grade in self.bilag.items():
            _check_grade(system, grade)
        object.__setattr__(self, "sledai", MappingProxyType(dict(self.sledai)))
        object.__setattr__(self, "bilag", MappingProxyType(dict(self.bilag)))


@dataclass(frozen=True)
class ReasonPart:
    """Hold one translatable piece of a reason: an English msgid and its formatted values."""

    template: str
    params: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        """Return the English text with the values filled in."""
        return self.template % self.params


@dataclass(frozen=True)
class SriResult:
    """Hold an SRI-X outcome with every component a report needs to explain it."""

    threshold: int
    outcome: Outcome
    reason_parts: tuple[ReasonPart, ...]
    sledai_change: int | None
    new_bilag_a: int | None
    new_bilag_b: int | None
    pga_change: Decimal | None
    treatment_failure: bool

    @property
    def reason(self) -> str:
        """Return the English reason, its parts joined with semicolons."""
        return "; ".join(str(part) for part in self.reason_parts)


def _new_bilag_counts(
    baseline: Mapping[str, str | None], visit: Mapping[str, str | None]
) -> tuple[int, int]:
    """Count new BILAG A and new BILAG B systems at the visit compared with baseline."""
    new_a = sum(1 for s in BILAG_SYSTEMS if visit.get(s) == "A" and baseline.get(s) != "A")
    new_b = sum(
        1 for s in BILAG_SYSTEMS if visit.get(s) == "B" and baseline.get(s) in SRI_NEW_B_FROM_GRADES
    )
    return new_a, new_b


def _sledai_change_part(change: int) -> ReasonPart:
    """Describe a SLEDAI-2K change (visit - baseline)."""
    if change < 0:
        return ReasonPart(gettext_noop("SLEDAI-2K fell by %(points)s"), {"points": str(-change)})
    if change > 0:
        return ReasonPart(gettext_noop("SLEDAI-2K rose by %(points)s"), {"points": str(change)})
    return ReasonPart(gettext_noop("SLEDAI-2K unchanged"))


def _pga_change_part(change: Decimal) -> ReasonPart:
    """Describe a PGA change (visit - baseline) with two decimals."""
    if change < 0:
        return ReasonPart(gettext_noop("PGA fell by %(change)s"), {"change": _format_pga(-change)})
    if change > 0:
        return ReasonPart(gettext_noop("PGA rose by %(change)s"), {"change": _format_pga(change)})
    return ReasonPart(gettext_noop("PGA unchanged"))


def _new_a_part(count: int) -> ReasonPart:
    """Describe the number of new BILAG A systems."""
    if count == 0:
        return ReasonPart(gettext_noop("no new BILAG A"))
    return ReasonPart(gettext_noop("%(count)s new BILAG A"), {"count": str(count)})


def _new_b_part(count: int) -> ReasonPart:
    """Describe the number of new BILAG B systems."""
    if count == 0:
        return ReasonPart(gettext_noop("no new BILAG B"))
    return ReasonPart(gettext_noop("%(count)s new BILAG B"), {"count": str(count)})


def _sledai_bounds(answers: Mapping[str, bool | None]) -> tuple[int, int]:
    """Return the lowest and highest SLEDAI-2K total the answers allow (missing: absent/present)."""
    present = sum(SLEDAI_WEIGHTS[name] for name in SLEDAI_FIELDS if answers.get(name) is True)
    missing = sum(SLEDAI_WEIGHTS[name] for name in SLEDAI_FIELDS if answers.get(name) is None)
    return present, present + missing


def _graded_pairs(
    baseline: Mapping[str, str | None], visit: Mapping[str, str | None]
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Keep the systems graded at both visits: one missing at either visit is not new (O5)."""
    graded = [s for s in BILAG_SYSTEMS if baseline.get(s) is not None and visit.get(s) is not None]
    return {s: baseline[s] for s in graded}, {s: visit[s] for s in graded}


def _certain_failures(threshold: int, baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """List the components that fail whatever the missing answers are (spec section 4, O5).

    Each is checked at its best case: a missing SLEDAI-2K descriptor counts as present at
    baseline and absent at the visit, a BILAG system missing at either visit is not new, and a
    missing PGA does not worsen.
    """
    parts: list[ReasonPart] = []
    _baseline_low, baseline_high = _sledai_bounds(baseline.sledai)
    visit_low, _visit_high = _sledai_bounds(visit.sledai)
    best_drop = baseline_high - visit_low
    sledai_known = (
        sledai_total(baseline.sledai) is not None and sledai_total(visit.sledai) is not None
    )
    if best_drop < threshold:
        if sledai_known:
            parts.append(_sledai_change_part(-best_drop))
        elif best_drop <= 0:
            parts.append(ReasonPart(gettext_noop("SLEDAI-2K cannot fall")))
        else:
            parts.append(
                ReasonPart(
                    gettext_noop("SLEDAI-2K can fall by %(points)s at most"),
                    {"points": str(best_drop)},
                )
            )
    new_a, new_b = _new_bilag_counts(*_graded_pairs(baseline.bilag, visit.bilag))
    if new_a > SRI_MAX_NEW_BILAG_A:
        parts.append(_new_a_part(new_a))
    if new_b > SRI_MAX_NEW_BILAG_B:
        parts.append(_new_b_part(new_b))
    pga_known = baseline.pga is not None and visit.pga is not None
    if pga_known and visit.pga - baseline.pga >= SRI_PGA_WORSENING:
        parts.append(_pga_change_part(visit.pga - baseline.pga))
    return parts


def _missing_answer_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Name every assessment with a missing answer, at baseline and at the visit."""
    parts: list[ReasonPart] = []
    if sledai_total(baseline.sledai) is None:
        parts.append(ReasonPart(gettext_noop("SLEDAI-2K incomplete at baseline")))
    if baseline.pga is None:
        parts.append(ReasonPart(gettext_noop("PGA missing at baseline")))
    if not _bilag_complete(baseline.bilag):
        parts.append(ReasonPart(gettext_noop("BILAG-2004 incomplete at baseline")))
    if sledai_total(visit.sledai) is None:
        parts.append(ReasonPart(gettext_noop("SLEDAI-2K incomplete at the visit")))
    if visit.pga is None:
        parts.append(ReasonPart(gettext_noop("PGA missing at the visit")))
    if not _bilag_complete(visit.bilag):
        parts.append(ReasonPart(gettext_noop("BILAG-2004 incomplete at the visit")))
    return parts


def _entry_in_progress_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Name the entries still saved in progress (O2)."""
    parts: list[ReasonPart] = []
    if not baseline.entry_complete:
        parts.append(ReasonPart(gettext_noop("data entry in progress at baseline")))
    if not visit.entry_complete:
        parts.append(ReasonPart(gettext_noop("data entry in progress at the visit")))
    return parts


def _lookback_parts(baseline: Assessment, visit: Assessment) -> list[ReasonPart]:
    """Say that the look-back windows differ (O3): the totals are then not comparable."""
    windows = (baseline.sledai_lookback_days, visit.sledai_lookback_days)
    if None in windows or windows[0] == windows[1]:
        return []
    return [
        ReasonPart(
            gettext_noop(
                "look-back windows differ (baseline %(baseline)s days, visit %(visit)s days)"
            ),
            {"baseline": str(windows[0]), "visit": str(windows[1])},
        )
    ]


def sri(
    *, threshold: int, baseline: Assessment | None, visit: Assessment, treatment_failure: bool
) -> SriResult:
    """Compare a follow-up visit with baseline and return the SRI-X result (spec section 4).

    The outcome is decided by the first of O1-O7 that applies: treatment failure
    (non-responder); no baseline or an entry in progress (not evaluable); different look-back
    windows (not evaluable); baseline SLEDAI-2K below X (not evaluable); a failure that the
    missing answers cannot rescue (non-responder); missing answers (not evaluable); otherwise
    the five conditions. Every component the data allow is computed and kept.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"SRI threshold must be a positive integer, not {threshold!r}")

    sledai_change: int | None = None
    new_a: int | None = None
    new_b: int | None = None
    pga_change: Decimal | None = None
    if baseline is not None:
        baseline_total = sledai_total(baseline.sledai)
        visit_total = sledai_total(visit.sledai)
        if baseline_total is not None and visit_total is not None:
            sledai_change = visit_total - baseline_total
        if _bilag_complete(baseline.bilag) and _bilag_complete(visit.bilag):
            new_a, new_b = _new_bilag_counts(baseline.bilag, visit.bilag)
        if baseline.pga is not None and visit.pga is not None:
            pga_change = visit.pga - baseline.pga

    failed_parts: list[ReasonPart] = []
    # Rule 1 (baseline - visit >= X) is failed when visit - baseline > -X.
    if sledai_change is not None and sledai_change > -threshold:
        failed_parts.append(_sledai_change_part(sledai_change))
    if new_a is not None and new_a > SRI_MAX_NEW_BILAG_A:
        failed_parts.append(_new_a_part(new_a))
    if new_b is not None and new_b > SRI_MAX_NEW_BILAG_B:
        failed_parts.append(_new_b_part(new_b))
    if pga_change is not None and pga_change >= SRI_PGA_WORSENING:
        failed_parts.append(_pga_change_part(pga_change))

    def result(outcome: Outcome, parts: Sequence[ReasonPart]) -> SriResult:
        """Bundle the outcome and reason with the components computed above."""
        return SriResult(
            threshold=threshold,
            outcome=outcome,
            reason_parts=tuple(parts),
            sledai_change=sledai_change,
            new_bilag_a=new_a,
            new_bilag_b=new_b,
            pga_change=pga_change,
            treatment_failure=treatment_failure,
        )

    # O1: treatment failure on or before the visit is never "not evaluable".
    if treatment_failure:
        failed_parts.append(ReasonPart(gettext_noop("treatment failure")))
        return result(Outcome.NON_RESPONDER, failed_parts)
    # O2: no baseline, or an entry still in progress.
    if baseline is None:
        return result(Outcome.NOT_EVALUABLE, [ReasonPart(gettext_noop("no baseline visit"))])
    in_progress = _entry_in_progress_parts(baseline, visit)
    if in_progress:
        return result(Outcome.NOT_EVALUABLE, in_progress)
    # O3: totals over different look-back windows are not comparable.
    lookback = _lookback_parts(baseline, visit)
    if lookback:
        return result(Outcome.NOT_EVALUABLE, lookback)
    # O4: a drop of X is impossible from a complete baseline below X.
    baseline_total = sledai_total(baseline.sledai)
    if baseline_total is not None and baseline_total < threshold:
        return result(
            Outcome.NOT_EVALUABLE,
            [
                ReasonPart(
                    gettext_noop("baseline SLEDAI-2K %(total)s is below %(threshold)s"),
                    {"total": str(baseline_total), "threshold": str(threshold)},
                )
            ],
        )
    missing = _missing_answer_parts(baseline, visit)
    if missing:
        # O5: missing answers never rescue a failure; O6: otherwise they leave it open.
        certain = _certain_failures(threshold, baseline, visit)
        if certain:
            return result(
                Outcome.NON_RESPONDER,
                [
                    *certain,
                    *missing,
                    ReasonPart(gettext_noop("the missing answers cannot change this")),
                ],
            )
        return result(Outcome.NOT_EVALUABLE, missing)
    # O7: complete data decide by the five conditions.
    if failed_parts:
        return result(Outcome.NON_RESPONDER, failed_parts)
    if sledai_change is None or new_a is None or new_b is None or pga_change is None:
        # Complete data always yield every component; reaching here is a programming error.
        raise RuntimeError("SRI components missing although the data are complete")
    return result(
        Outcome.RESPONDER,
        [
            _sledai_change_part(sledai_change),
            _new_a_part(new_a),
            _new_b_part(new_b),
            _pga_change_part(pga_change),
        ],
    )
