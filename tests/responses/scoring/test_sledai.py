"""SLEDAI-2K (responses.scoring.sledai) against clinical-rules.md section 1.

Every expected value is typed from the spec or from a hand calculation shown beside it.
"""

from __future__ import annotations

import pytest

from responses.scoring.sledai import (
    SLEDAI_DESCRIPTORS,
    SLEDAI_FIELDS,
    SLEDAI_MAX,
    SLEDAI_SEROLOGY_FIELDS,
    SLEDAI_WEIGHTS,
    ActivityBand,
    activity_band,
    clinical_sledai_total,
    sledai_total,
)
from tests.responses.scoring.answers import SPEC_SLEDAI_TABLE, sledai

# --------------------------------------------------------------------------------------------
# SLEDAI-2K
# --------------------------------------------------------------------------------------------


def test_descriptors_match_the_spec_table_in_order() -> None:
    assert [(d.number, d.field, d.weight, d.organ) for d in SLEDAI_DESCRIPTORS] == list(
        SPEC_SLEDAI_TABLE
    )
    assert tuple(row[1] for row in SPEC_SLEDAI_TABLE) == SLEDAI_FIELDS
    assert {row[1]: row[2] for row in SPEC_SLEDAI_TABLE} == SLEDAI_WEIGHTS
    assert SLEDAI_SEROLOGY_FIELDS == ("low_complement", "increased_dna_binding")


def test_every_descriptor_has_a_label_and_a_definition() -> None:
    assert all(d.label and d.definition for d in SLEDAI_DESCRIPTORS)


@pytest.mark.parametrize(
    ("field", "weight"),
    [(row[1], row[2]) for row in SPEC_SLEDAI_TABLE],
    ids=[f"{row[0]:02d}-{row[1]}" for row in SPEC_SLEDAI_TABLE],
)
def test_descriptor_alone_scores_its_weight(field: str, weight: int) -> None:
    assert sledai_total(sledai(field)) == weight


def test_all_descriptors_present_score_105() -> None:
    # 8x8 + 6x4 + 7x2 + 3x1 = 64 + 24 + 14 + 3 = 105
    everything = sledai(*SLEDAI_FIELDS)
    assert sledai_total(everything) == 105 == SLEDAI_MAX


def test_no_descriptor_present_scores_0() -> None:
    assert sledai_total(sledai()) == 0
    assert clinical_sledai_total(sledai()) == 0


def test_clinical_total_with_all_present_is_101() -> None:
    # 105 - low complement 2 - increased DNA binding 2 = 101
    assert clinical_sledai_total(sledai(*SLEDAI_FIELDS)) == 101


@pytest.mark.parametrize("field", ["low_complement", "increased_dna_binding"])
def test_clinical_total_ignores_serology_item(field: str) -> None:
    answers = sledai("arthritis", field)
    assert sledai_total(answers) == 6  # arthritis 4 + serology 2
    assert clinical_sledai_total(answers) == 4  # arthritis only


def test_clinical_total_is_computed_when_only_serology_is_unanswered() -> None:
    answers = sledai("rash", "fever")
    answers["low_complement"] = None
    del answers["increased_dna_binding"]
    assert sledai_total(answers) is None
    assert clinical_sledai_total(answers) == 3  # rash 2 + fever 1


@pytest.mark.parametrize(
    "field", ["seizure", "proteinuria", "leukopenia"], ids=["first", "middle", "last"]
)
def test_total_is_none_when_a_descriptor_is_unanswered(field: str) -> None:
    answers = sledai("arthritis")
    answers[field] = None
    assert sledai_total(answers) is None
    assert clinical_sledai_total(answers) is None


def test_total_is_none_when_a_descriptor_is_missing_from_the_answers() -> None:
    answers = sledai("arthritis")
    del answers["cva"]
    assert sledai_total(answers) is None
    assert sledai_total({}) is None


def test_total_ignores_keys_that_are_not_descriptors() -> None:
    answers = {**sledai("arthritis"), "visit_code": True}
    assert sledai_total(answers) == 4


def test_total_rejects_answers_that_are_not_booleans() -> None:
    answers: dict[str, object] = {**sledai(), "arthritis": "yes"}
    with pytest.raises(TypeError, match="arthritis"):
        sledai_total(answers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, ActivityBand.NONE),
        (1, ActivityBand.MILD),
        (5, ActivityBand.MILD),
        (6, ActivityBand.MODERATE),
        (10, ActivityBand.MODERATE),
        (11, ActivityBand.HIGH),
        (19, ActivityBand.HIGH),
        (20, ActivityBand.VERY_HIGH),
        (105, ActivityBand.VERY_HIGH),
    ],
    ids=lambda value: str(value),
)
def test_activity_band_for_total(total: int, band: ActivityBand) -> None:
    assert activity_band(total) == band


@pytest.mark.parametrize("total", [-1, 106], ids=["below-0", "above-105"])
def test_activity_band_rejects_totals_outside_0_to_105(total: int) -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.105"):
        activity_band(total)


def test_activity_band_values_are_the_spec_words() -> None:
    assert [band.value for band in ActivityBand] == [
        "none",
        "mild",
        "moderate",
        "high",
        "very high",
    ]
