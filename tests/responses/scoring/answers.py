"""What the scoring tests share: the spec's tables typed from clinical-rules.md, and answers.

The SLEDAI-2K table and BILAG-2004 systems are typed from the spec (not imported from the
code), so that the tests compare the code against them.
"""

from __future__ import annotations

from decimal import Decimal

from responses.scoring.sri import Assessment

D = Decimal

# Section 1 table, typed from the spec: (number, field name, weight, organ group).
SPEC_SLEDAI_TABLE = (
    (1, "seizure", 8, "Neurological"),
    (2, "psychosis", 8, "Neurological"),
    (3, "organic_brain_syndrome", 8, "Neurological"),
    (4, "visual_disturbance", 8, "Neurological"),
    (5, "cranial_nerve_disorder", 8, "Neurological"),
    (6, "lupus_headache", 8, "Neurological"),
    (7, "cva", 8, "Neurological"),
    (8, "vasculitis", 8, "Vascular"),
    (9, "arthritis", 4, "Musculoskeletal"),
    (10, "myositis", 4, "Musculoskeletal"),
    (11, "urinary_casts", 4, "Renal"),
    (12, "hematuria", 4, "Renal"),
    (13, "proteinuria", 4, "Renal"),
    (14, "pyuria", 4, "Renal"),
    (15, "rash", 2, "Mucocutaneous"),
    (16, "alopecia", 2, "Mucocutaneous"),
    (17, "mucosal_ulcers", 2, "Mucocutaneous"),
    (18, "pleurisy", 2, "Serosal"),
    (19, "pericarditis", 2, "Serosal"),
    (20, "low_complement", 2, "Immunological"),
    (21, "increased_dna_binding", 2, "Immunological"),
    (22, "fever", 1, "Constitutional"),
    (23, "thrombocytopenia", 1, "Haematological"),
    (24, "leukopenia", 1, "Haematological"),
)
SPEC_BILAG_SYSTEMS = (
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


def sledai(*present: str) -> dict[str, bool | None]:
    """Return a complete SLEDAI-2K answer map with only ``present`` descriptors present."""
    unknown = set(present) - {row[1] for row in SPEC_SLEDAI_TABLE}
    assert not unknown, unknown
    return {row[1]: row[1] in present for row in SPEC_SLEDAI_TABLE}


def bilag(default: str | None = "D", **grades: str | None) -> dict[str, str | None]:
    """Return a grade map for all nine systems: ``default`` everywhere except ``grades``."""
    result: dict[str, str | None] = dict.fromkeys(SPEC_BILAG_SYSTEMS, default)
    result.update(grades)
    return result


# SRI fixtures. Baseline SLEDAI-2K: arthritis 4 + hematuria 4 + rash 2 = 10.
BASELINE_10 = ("arthritis", "hematuria", "rash")
VISIT_12 = ("arthritis", "hematuria", "rash", "alopecia")  # 4 + 4 + 2 + 2 = 12 (rise 2)
VISIT_7 = ("arthritis", "rash", "fever")  # 4 + 2 + 1 = 7 (drop 3)
VISIT_6 = ("arthritis", "rash")  # 4 + 2 = 6 (drop 4)
VISIT_5 = ("arthritis", "fever")  # 4 + 1 = 5 (drop 5)
VISIT_4 = ("arthritis",)  # 4 (drop 6)
VISIT_3 = ("rash", "fever")  # 2 + 1 = 3 (drop 7)


def assessment(
    present: tuple[str, ...] = BASELINE_10,
    pga: str | None = "1.50",
    grades: dict[str, str | None] | None = None,
) -> Assessment:
    """Return a complete assessment unless a test blanks part of it."""
    return Assessment(
        sledai=sledai(*present),
        pga=None if pga is None else D(pga),
        bilag=bilag() if grades is None else grades,
    )


def responder_pair() -> tuple[Assessment, Assessment]:
    """Return baseline 10 / PGA 1.50 / all D and visit 4 / PGA 1.00 / all D: an SRI-6 responder."""
    return assessment(BASELINE_10, "1.50"), assessment(VISIT_4, "1.00")
