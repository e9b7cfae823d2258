"""SLEDAI-2K (clinical-rules.md section 1; Gladman 2002): the 24 descriptors, their weights
and definitions, the totals and the activity bands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from responses.scoring.common import gettext_noop


class ActivityBand(StrEnum):
    """Name the descriptive SLEDAI-2K activity band shown beside a total (spec section 1)."""

    NONE = gettext_noop("none")
    MILD = gettext_noop("mild")
    MODERATE = gettext_noop("moderate")
    HIGH = gettext_noop("high")
    VERY_HIGH = gettext_noop("very high")


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
#: Each descriptor's label, marked for translation, by field name.
SLEDAI_LABELS: dict[str, str] = {d.field: d.label for d in SLEDAI_DESCRIPTORS}

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


def sledai_bounds(answers: Mapping[str, bool | None]) -> tuple[int, int]:
    """Return the lowest and highest SLEDAI-2K total the answers allow (missing: absent/present)."""
    present = sum(SLEDAI_WEIGHTS[name] for name in SLEDAI_FIELDS if answers.get(name) is True)
    missing = sum(SLEDAI_WEIGHTS[name] for name in SLEDAI_FIELDS if answers.get(name) is None)
    return present, present + missing
