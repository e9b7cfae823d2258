"""Test the pure scoring rules against clinical-rules.md sections 1-4.

Every expected value is typed from the spec or from a hand calculation shown beside it.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys
from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from responses import scoring
from responses.scoring.bilag import (
    BILAG_GRADES,
    BILAG_NUMERIC,
    BILAG_SYSTEMS,
    bilag_e_after_involvement,
    bilag_numeric_score,
)
from responses.scoring.common import Outcome
from responses.scoring.labs import Labs, sledai_suggestions
from responses.scoring.pga import validate_pga
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
from responses.scoring.sri import Assessment, ReasonPart, sri, treatment_failed

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


# --------------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------------

#: Every module of the scoring package, by file name.
SCORING_SOURCES = {
    path.name: path.read_text(encoding="utf-8")
    for path in sorted(Path(scoring.__file__).parent.glob("*.py"))
}
#: What a scoring module may import besides the standard library: the package's own modules, and
#: SciPy for the exact interval.
ALLOWED_IMPORTS = {"statistics.py": {"responses", "scipy"}}


def _imported_top_level_modules(source: str) -> set[str]:
    """Return the top-level names of every module imported anywhere in ``source``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _imported_packages(source: str) -> set[str]:
    """Return the package of every ``from responses... import`` in ``source``."""
    return {
        node.module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("responses")
    }


def test_scoring_modules_do_not_import_django() -> None:
    for name, source in SCORING_SOURCES.items():
        assert "django" not in _imported_top_level_modules(source), name


def test_scoring_modules_import_only_the_standard_library_and_each_other() -> None:
    for name, source in SCORING_SOURCES.items():
        allowed = set(sys.stdlib_module_names) | ALLOWED_IMPORTS.get(name, {"responses"})
        imported = _imported_top_level_modules(source)
        assert imported <= allowed, (name, imported - allowed)
        if "responses" in imported:
            assert _imported_packages(source) <= {"responses.scoring"}, name


def _gettext_noop_arguments() -> list[ast.expr]:
    """Return the first argument of every gettext_noop(...) call in the scoring package."""
    return [
        node.args[0]
        for source in SCORING_SOURCES.values()
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "gettext_noop"
    ]


def test_every_translatable_string_is_a_literal_that_makemessages_can_extract() -> None:
    arguments = _gettext_noop_arguments()
    assert arguments, "no gettext_noop calls found"
    assert all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in arguments)


def test_translatable_templates_use_only_named_string_placeholders() -> None:
    for arg in _gettext_noop_arguments():
        assert isinstance(arg, ast.Constant)
        without_named = re.sub(r"%\(\w+\)s", "", arg.value)
        assert "%" not in without_named, arg.value


def test_reason_part_renders_its_template_with_its_params() -> None:
    part = ReasonPart("SLEDAI-2K fell by %(points)s", {"points": "6"})
    assert str(part) == "SLEDAI-2K fell by 6"
    assert str(ReasonPart("treatment failure", {})) == "treatment failure"


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


# --------------------------------------------------------------------------------------------
# Lab-assisted suggestions (strict boundaries)
# --------------------------------------------------------------------------------------------

NOTHING: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("labs", "expected"),
    [
        pytest.param(Labs(), NOTHING, id="no-labs"),
        pytest.param(Labs(platelets=D("99.9")), {"thrombocytopenia"}, id="platelets-99.9"),
        pytest.param(Labs(platelets=D("100")), NOTHING, id="platelets-100-at-cutoff"),
        pytest.param(Labs(wbc=D("2.9")), {"leukopenia"}, id="wbc-2.9"),
        pytest.param(Labs(wbc=D("3.0")), NOTHING, id="wbc-3.0-at-cutoff"),
        pytest.param(Labs(max_temperature_c=D("38.1")), {"fever"}, id="temp-38.1"),
        pytest.param(Labs(max_temperature_c=D("38.0")), NOTHING, id="temp-38.0-at-cutoff"),
        pytest.param(Labs(urine_rbc_per_hpf=D("6")), {"hematuria"}, id="urine-rbc-6"),
        pytest.param(Labs(urine_rbc_per_hpf=D("5")), NOTHING, id="urine-rbc-5-at-cutoff"),
        pytest.param(Labs(urine_wbc_per_hpf=D("6")), {"pyuria"}, id="urine-wbc-6"),
        pytest.param(Labs(urine_wbc_per_hpf=D("5")), NOTHING, id="urine-wbc-5-at-cutoff"),
        pytest.param(Labs(urinary_casts=True), {"urinary_casts"}, id="casts-reported"),
        pytest.param(Labs(urinary_casts=False), NOTHING, id="casts-absent"),
        pytest.param(Labs(protein_24h_g=D("0.51")), {"proteinuria"}, id="protein-24h-0.51"),
        pytest.param(Labs(protein_24h_g=D("0.5")), NOTHING, id="protein-24h-0.5-at-cutoff"),
        pytest.param(
            Labs(upcr=D("0.51"), upcr_unit="g/g"), {"proteinuria"}, id="upcr-0.51-g-per-g"
        ),
        pytest.param(Labs(upcr=D("0.5"), upcr_unit="g/g"), NOTHING, id="upcr-0.5-g-per-g-cutoff"),
        pytest.param(
            Labs(upcr=D("51"), upcr_unit="mg/mmol"), {"proteinuria"}, id="upcr-51-mg-per-mmol"
        ),
        pytest.param(
            Labs(upcr=D("50"), upcr_unit="mg/mmol"), NOTHING, id="upcr-50-mg-per-mmol-cutoff"
        ),
        pytest.param(
            Labs(upcr=D("0.8"), upcr_unit=None), NOTHING, id="upcr-without-unit-no-suggestion"
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.4"), upcr=D("0.8"), upcr_unit="g/g"),
            NOTHING,
            id="24h-normal-wins-over-high-upcr",
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.8"), upcr=D("0.3"), upcr_unit="g/g"),
            {"proteinuria"},
            id="24h-high-wins-over-normal-upcr",
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.5"), upcr=D("60"), upcr_unit="mg/mmol"),
            NOTHING,
            id="24h-at-cutoff-wins-over-high-upcr-mg-per-mmol",
        ),
        pytest.param(
            Labs(c3=D("0.89"), c3_lower_limit=D("0.90")), {"low_complement"}, id="c3-below-limit"
        ),
        pytest.param(Labs(c3=D("0.90"), c3_lower_limit=D("0.90")), NOTHING, id="c3-at-limit"),
        pytest.param(
            Labs(c4=D("0.09"), c4_lower_limit=D("0.10")), {"low_complement"}, id="c4-below-limit"
        ),
        pytest.param(Labs(c4=D("0.10"), c4_lower_limit=D("0.10")), NOTHING, id="c4-at-limit"),
        pytest.param(
            Labs(c3=D("0.90"), c3_lower_limit=D("0.90"), c4=D("0.05"), c4_lower_limit=D("0.10")),
            {"low_complement"},
            id="c3-at-limit-c4-below-limit",
        ),
        pytest.param(Labs(c3=D("0.10")), NOTHING, id="c3-low-but-limit-missing"),
        pytest.param(Labs(c4=D("0.01")), NOTHING, id="c4-low-but-limit-missing"),
        pytest.param(
            Labs(anti_dsdna=D("31"), anti_dsdna_upper_limit=D("30")),
            {"increased_dna_binding"},
            id="dsdna-above-limit",
        ),
        pytest.param(
            Labs(anti_dsdna=D("30"), anti_dsdna_upper_limit=D("30")), NOTHING, id="dsdna-at-limit"
        ),
        pytest.param(Labs(anti_dsdna=D("500")), NOTHING, id="dsdna-high-but-limit-missing"),
        pytest.param(
            Labs(platelets=D("50"), wbc=D("2.0"), max_temperature_c=D("39.2"), urinary_casts=True),
            {"thrombocytopenia", "leukopenia", "fever", "urinary_casts"},
            id="several-at-once",
        ),
    ],
)
def test_lab_suggestions(labs: Labs, expected: set[str]) -> None:
    assert sledai_suggestions(labs) == frozenset(expected)


def test_lab_suggestions_are_descriptor_field_names() -> None:
    labs = Labs(
        platelets=D("1"),
        wbc=D("1"),
        max_temperature_c=D("40"),
        urine_rbc_per_hpf=D("50"),
        urine_wbc_per_hpf=D("50"),
        urinary_casts=True,
        protein_24h_g=D("3"),
        c3=D("0.1"),
        c3_lower_limit=D("0.9"),
        anti_dsdna=D("300"),
        anti_dsdna_upper_limit=D("30"),
    )
    assert sledai_suggestions(labs) == {
        "thrombocytopenia",
        "leukopenia",
        "fever",
        "hematuria",
        "pyuria",
        "urinary_casts",
        "proteinuria",
        "low_complement",
        "increased_dna_binding",
    }


def test_labs_reject_an_unknown_upcr_unit() -> None:
    with pytest.raises(ValueError, match="UPCR unit"):
        Labs(upcr=D("30"), upcr_unit="mg/g")


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), D("-1")], ids=["nan", "inf", "neg"])
def test_labs_reject_non_finite_or_negative_values(value: Decimal) -> None:
    with pytest.raises(ValueError, match="platelets"):
        Labs(platelets=value)


def test_labs_reject_binary_floats() -> None:
    with pytest.raises(TypeError, match="wbc"):
        Labs(wbc=2.9)  # type: ignore[arg-type]


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


# --------------------------------------------------------------------------------------------
# BILAG-2004
# --------------------------------------------------------------------------------------------


def test_bilag_constants_match_the_spec() -> None:
    assert BILAG_SYSTEMS == SPEC_BILAG_SYSTEMS
    assert BILAG_GRADES == ("A", "B", "C", "D", "E")
    assert BILAG_NUMERIC == {"A": 12, "B": 8, "C": 1, "D": 0, "E": 0}


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        pytest.param(bilag("A"), 108, id="all-A-9x12"),
        pytest.param(bilag("E"), 0, id="all-E"),
        pytest.param(bilag("D"), 0, id="all-D"),
        pytest.param(bilag("C"), 9, id="all-C-9x1"),
        pytest.param(bilag("D", renal="B"), 8, id="one-B"),
        # A B C D E A B C D in spec order: 12+8+1+0+0+12+8+1+0 = 42
        pytest.param(
            dict(zip(SPEC_BILAG_SYSTEMS, "ABCDEABCD", strict=True)), 42, id="mix-A-to-E-twice"
        ),
        # renal A 12 + musculoskeletal B 8 + mucocutaneous C 1 + six E 0 = 21
        pytest.param(
            bilag("E", renal="A", musculoskeletal="B", mucocutaneous="C"), 21, id="A-B-C-rest-E"
        ),
        pytest.param(bilag("A", renal=None), None, id="one-ungraded"),
        pytest.param({"renal": "A"}, None, id="systems-missing"),
    ],
)
def test_numeric_bilag_score(grades: dict[str, str | None], expected: int | None) -> None:
    assert bilag_numeric_score(grades) == expected


def test_numeric_bilag_score_rejects_unknown_grade() -> None:
    with pytest.raises(ValueError, match="renal"):
        bilag_numeric_score(bilag("D", renal="F"))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param([], [], id="no-visits"),
        pytest.param([{"renal": "D"}, {"renal": "E"}], [(1, "renal")], id="E-after-D-flagged"),
        pytest.param([{"renal": "E"}, {"renal": "E"}], [], id="E-after-E-fine"),
        pytest.param(
            [{"renal": "A"}, {"renal": "C"}, {"renal": "E"}],
            [(2, "renal")],
            id="A-then-E-two-visits-later-flagged",
        ),
        pytest.param(
            [{"renal": "A"}, {"renal": "E"}, {"renal": "E"}],
            [(1, "renal"), (2, "renal")],
            id="every-E-after-involvement-flagged",
        ),
        pytest.param([{"renal": "E"}, {"renal": "A"}], [], id="E-then-A-fine"),
        pytest.param(
            [{"renal": "B"}, {"renal": None}, {"renal": "E"}],
            [(2, "renal")],
            id="ungraded-visit-in-between",
        ),
        pytest.param([{"renal": "E", "ophthalmic": "D"}], [], id="single-visit-never-flagged"),
        pytest.param(
            [
                {"renal": "C", "constitutional": "B", "ophthalmic": "E"},
                {"renal": "E", "constitutional": "E", "ophthalmic": "E"},
            ],
            [(1, "constitutional"), (1, "renal")],
            id="several-systems-in-spec-order",
        ),
        pytest.param([{"renal": "D"}, {"ophthalmic": "E"}], [], id="involvement-is-per-system"),
    ],
)
def test_bilag_e_after_involvement(
    history: list[dict[str, str | None]], expected: list[tuple[int, str]]
) -> None:
    assert bilag_e_after_involvement(history) == expected


# --------------------------------------------------------------------------------------------
# Treatment failure
# --------------------------------------------------------------------------------------------

VISIT_DATE = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("failure_date", "withdrawal_date", "failed"),
    [
        pytest.param(None, None, False, id="no-failure-no-withdrawal"),
        pytest.param(date(2025, 2, 28), None, True, id="failure-before-visit"),
        pytest.param(date(2025, 3, 1), None, True, id="failure-on-visit-date"),
        pytest.param(date(2025, 3, 2), None, False, id="failure-after-visit"),
        pytest.param(None, date(2025, 2, 28), True, id="withdrawal-before-visit"),
        pytest.param(None, date(2025, 3, 1), True, id="withdrawal-on-visit-date"),
        pytest.param(None, date(2025, 3, 2), False, id="withdrawal-after-visit"),
        pytest.param(
            date(2025, 4, 1), date(2025, 2, 1), True, id="withdrawal-before-failure-after"
        ),
    ],
)
def test_treatment_failure_counts_on_or_before_the_visit(
    failure_date: date | None, withdrawal_date: date | None, failed: bool
) -> None:
    assert (
        treatment_failed(
            visit_date=VISIT_DATE,
            treatment_failure_date=failure_date,
            withdrawal_date=withdrawal_date,
        )
        is failed
    )


@pytest.mark.parametrize(
    ("failure_date", "outcome", "reason"),
    [
        pytest.param(date(2025, 2, 1), Outcome.NON_RESPONDER, "treatment failure", id="before"),
        pytest.param(date(2025, 3, 1), Outcome.NON_RESPONDER, "treatment failure", id="on"),
        pytest.param(
            date(2025, 3, 2),
            Outcome.RESPONDER,
            "SLEDAI-2K fell by 6; no new BILAG A; no new BILAG B; PGA fell by 0.50",
            id="after",
        ),
    ],
)
def test_treatment_failure_date_decides_an_otherwise_responding_visit(
    failure_date: date, outcome: Outcome, reason: str
) -> None:
    baseline, visit = responder_pair()
    failed = treatment_failed(
        visit_date=VISIT_DATE, treatment_failure_date=failure_date, withdrawal_date=None
    )
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=failed)
    assert result.outcome == outcome
    assert result.reason == reason
    assert result.treatment_failure is failed


def test_withdrawal_before_the_visit_makes_a_non_responder() -> None:
    baseline, visit = responder_pair()
    failed = treatment_failed(
        visit_date=VISIT_DATE, treatment_failure_date=None, withdrawal_date=date(2025, 1, 15)
    )
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=failed)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"


# --------------------------------------------------------------------------------------------
# SRI-X: SLEDAI-2K drop
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("threshold", "visit_present", "change", "outcome"),
    [
        pytest.param(4, VISIT_7, -3, Outcome.NON_RESPONDER, id="SRI-4-drop-3"),
        pytest.param(4, VISIT_6, -4, Outcome.RESPONDER, id="SRI-4-drop-4"),
        pytest.param(4, VISIT_5, -5, Outcome.RESPONDER, id="SRI-4-drop-5"),
        pytest.param(5, VISIT_6, -4, Outcome.NON_RESPONDER, id="SRI-5-drop-4"),
        pytest.param(5, VISIT_5, -5, Outcome.RESPONDER, id="SRI-5-drop-5"),
        pytest.param(5, VISIT_4, -6, Outcome.RESPONDER, id="SRI-5-drop-6"),
        pytest.param(6, VISIT_5, -5, Outcome.NON_RESPONDER, id="SRI-6-drop-5"),
        pytest.param(6, VISIT_4, -6, Outcome.RESPONDER, id="SRI-6-drop-6"),
        pytest.param(6, VISIT_3, -7, Outcome.RESPONDER, id="SRI-6-drop-7"),
        pytest.param(4, BASELINE_10, 0, Outcome.NON_RESPONDER, id="SRI-4-unchanged"),
        pytest.param(4, VISIT_12, 2, Outcome.NON_RESPONDER, id="SRI-4-rise-2"),
    ],
)
def test_sledai_drop_against_threshold(
    threshold: int, visit_present: tuple[str, ...], change: int, outcome: Outcome
) -> None:
    # Baseline 10; PGA 1.50 -> 1.00 and all-D BILAG pass, so only the drop decides.
    result = sri(
        threshold=threshold,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(visit_present, "1.00"),
        treatment_failure=False,
    )
    assert result.sledai_change == change
    assert result.outcome == outcome
    assert result.threshold == threshold


@pytest.mark.parametrize(
    ("visit_present", "reason"),
    [
        pytest.param(VISIT_7, "SLEDAI-2K fell by 3", id="fell-by-3"),
        pytest.param(BASELINE_10, "SLEDAI-2K unchanged", id="unchanged"),
        pytest.param(VISIT_12, "SLEDAI-2K rose by 2", id="rose-by-2"),
    ],
)
def test_insufficient_sledai_drop_reason(visit_present: tuple[str, ...], reason: str) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(visit_present, "1.00"),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == reason


@pytest.mark.parametrize(
    ("threshold", "baseline_present", "change", "outcome", "reason"),
    [
        # rash 2 + fever 1 = 3; visit 0 gives a change of -3
        pytest.param(
            4,
            ("rash", "fever"),
            -3,
            Outcome.NOT_EVALUABLE,
            "baseline SLEDAI-2K 3 is below 4",
            id="SRI-4-baseline-3",
        ),
        # arthritis 4; visit 0 is a drop of exactly 4
        pytest.param(4, ("arthritis",), -4, Outcome.RESPONDER, None, id="SRI-4-baseline-4"),
        # arthritis 4 + fever 1 = 5
        pytest.param(
            6,
            ("arthritis", "fever"),
            -5,
            Outcome.NOT_EVALUABLE,
            "baseline SLEDAI-2K 5 is below 6",
            id="SRI-6-baseline-5",
        ),
        # arthritis 4 + rash 2 = 6; visit 0 is a drop of exactly 6
        pytest.param(6, ("arthritis", "rash"), -6, Outcome.RESPONDER, None, id="SRI-6-baseline-6"),
    ],
)
def test_baseline_sledai_below_threshold_is_not_evaluable_and_at_threshold_is_evaluable(
    threshold: int,
    baseline_present: tuple[str, ...],
    change: int,
    outcome: Outcome,
    reason: str | None,
) -> None:
    result = sri(
        threshold=threshold,
        baseline=assessment(baseline_present, "1.50"),
        visit=assessment((), "1.00"),
        treatment_failure=False,
    )
    assert result.outcome == outcome
    assert result.sledai_change == change  # computed even when not evaluable
    if reason is not None:
        assert result.reason == reason


# --------------------------------------------------------------------------------------------
# SRI-X: PGA
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline_pga", "visit_pga", "change", "worsened"),
    [
        pytest.param("1.00", "1.29", "0.29", False, id="plus-0.29"),
        pytest.param("1.00", "1.30", "0.30", True, id="plus-0.30-exactly"),
        pytest.param("1.00", "1.31", "0.31", True, id="plus-0.31"),
        # In binary floats 2.30 - 2.00 and 0.70 - 0.40 fall just short of 0.30.
        pytest.param("2.00", "2.30", "0.30", True, id="2.00-to-2.30"),
        pytest.param("0.40", "0.70", "0.30", True, id="0.40-to-0.70"),
        pytest.param("1.20", "1.49", "0.29", False, id="1.20-to-1.49"),
        pytest.param("1.50", "1.50", "0.00", False, id="unchanged"),
        pytest.param("1.50", "0.20", "-1.30", False, id="improved"),
        pytest.param("0.00", "3.00", "3.00", True, id="0-to-3"),
    ],
)
def test_pga_rise_of_0_30_or_more_is_worsening(
    baseline_pga: str, visit_pga: str, change: str, worsened: bool
) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, baseline_pga),
        visit=assessment(VISIT_4, visit_pga),
        treatment_failure=False,
    )
    assert result.pga_change == D(change)
    assert result.outcome == (Outcome.NON_RESPONDER if worsened else Outcome.RESPONDER)
    if worsened:
        assert result.reason == f"PGA rose by {change}"


def test_pga_change_is_exact_decimal_with_two_places() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "0.40"),
        visit=assessment(VISIT_4, "0.70"),
        treatment_failure=False,
    )
    assert isinstance(result.pga_change, Decimal)
    assert str(result.pga_change) == "0.30"


# --------------------------------------------------------------------------------------------
# SRI-X: new BILAG A and B
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline_grades", "visit_grades", "new_a", "new_b", "outcome"),
    [
        pytest.param(bilag(), bilag(), 0, 0, Outcome.RESPONDER, id="all-D-to-all-D"),
        pytest.param(bilag(renal="D"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="D-to-A"),
        pytest.param(bilag(renal="B"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="B-to-A"),
        pytest.param(bilag(renal="E"), bilag(renal="A"), 1, 0, Outcome.NON_RESPONDER, id="E-to-A"),
        pytest.param(bilag(renal="A"), bilag(renal="A"), 0, 0, Outcome.RESPONDER, id="A-to-A"),
        pytest.param(bilag(renal="A"), bilag(renal="B"), 0, 0, Outcome.RESPONDER, id="A-to-B"),
        pytest.param(bilag(renal="B"), bilag(renal="B"), 0, 0, Outcome.RESPONDER, id="B-to-B"),
        pytest.param(bilag(renal="C"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="C-to-B"),
        pytest.param(bilag(renal="D"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="D-to-B"),
        pytest.param(bilag(renal="E"), bilag(renal="B"), 0, 1, Outcome.RESPONDER, id="E-to-B"),
        pytest.param(
            bilag(renal="D", musculoskeletal="C"),
            bilag(renal="B", musculoskeletal="B"),
            0,
            2,
            Outcome.NON_RESPONDER,
            id="two-new-B",
        ),
        pytest.param(
            bilag(renal="B", musculoskeletal="C"),
            bilag(renal="B", musculoskeletal="B"),
            0,
            1,
            Outcome.RESPONDER,
            id="B-to-B-plus-one-new-B",
        ),
        pytest.param(
            bilag(renal="A", musculoskeletal="A", mucocutaneous="E"),
            bilag(renal="B", musculoskeletal="B", mucocutaneous="B"),
            0,
            1,
            Outcome.RESPONDER,
            id="two-A-to-B-plus-one-new-B",
        ),
        pytest.param(
            bilag(renal="A", musculoskeletal="D"),
            bilag(renal="D", musculoskeletal="A"),
            1,
            0,
            Outcome.NON_RESPONDER,
            id="A-moves-to-another-system",
        ),
    ],
)
def test_new_bilag_a_and_b(
    baseline_grades: dict[str, str | None],
    visit_grades: dict[str, str | None],
    new_a: int,
    new_b: int,
    outcome: Outcome,
) -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", baseline_grades),
        visit=assessment(VISIT_4, "1.00", visit_grades),
        treatment_failure=False,
    )
    assert (result.new_bilag_a, result.new_bilag_b) == (new_a, new_b)
    assert result.outcome == outcome


def test_new_bilag_reasons() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", bilag(renal="D", musculoskeletal="C")),
        visit=assessment(VISIT_4, "1.00", bilag(renal="A", musculoskeletal="B", ophthalmic="B")),
        treatment_failure=False,
    )
    # renal D->A is 1 new A; musculoskeletal C->B and ophthalmic D->B are 2 new B.
    assert result.reason == "1 new BILAG A; 2 new BILAG B"


# --------------------------------------------------------------------------------------------
# SRI-X: not evaluable
# --------------------------------------------------------------------------------------------


def test_no_baseline_visit_is_not_evaluable() -> None:
    result = sri(threshold=4, baseline=None, visit=assessment(VISIT_4), treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == "no baseline visit"
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b, result.pga_change) == (
        None,
        None,
        None,
        None,
    )


def _blank_sledai_item(a: Assessment) -> Assessment:
    return Assessment(sledai={**a.sledai, "pericarditis": None}, pga=a.pga, bilag=a.bilag)


def _drop_sledai_item(a: Assessment) -> Assessment:
    answers = dict(a.sledai)
    del answers["pericarditis"]
    return Assessment(sledai=answers, pga=a.pga, bilag=a.bilag)


def _blank_pga(a: Assessment) -> Assessment:
    return Assessment(sledai=a.sledai, pga=None, bilag=a.bilag)


def _blank_bilag_system(a: Assessment) -> Assessment:
    return Assessment(sledai=a.sledai, pga=a.pga, bilag={**a.bilag, "ophthalmic": None})


def _drop_bilag_system(a: Assessment) -> Assessment:
    grades = dict(a.bilag)
    del grades["ophthalmic"]
    return Assessment(sledai=a.sledai, pga=a.pga, bilag=grades)


MISSING_DATA_CASES = [
    # (blanker, where, reason, component left None)
    pytest.param(
        _blank_sledai_item,
        "baseline",
        "SLEDAI-2K incomplete at baseline",
        "sledai_change",
        id="baseline-sledai-item-none",
    ),
    pytest.param(
        _drop_sledai_item,
        "baseline",
        "SLEDAI-2K incomplete at baseline",
        "sledai_change",
        id="baseline-sledai-item-absent",
    ),
    pytest.param(
        _blank_pga,
        "baseline",
        "PGA missing at baseline",
        "pga_change",
        id="baseline-pga-missing",
    ),
    pytest.param(
        _blank_bilag_system,
        "baseline",
        "BILAG-2004 incomplete at baseline",
        "new_bilag_a",
        id="baseline-bilag-system-none",
    ),
    pytest.param(
        _drop_bilag_system,
        "baseline",
        "BILAG-2004 incomplete at baseline",
        "new_bilag_b",
        id="baseline-bilag-system-absent",
    ),
    pytest.param(
        _blank_sledai_item,
        "visit",
        "SLEDAI-2K incomplete at the visit",
        "sledai_change",
        id="visit-sledai-item-none",
    ),
    pytest.param(
        _drop_sledai_item,
        "visit",
        "SLEDAI-2K incomplete at the visit",
        "sledai_change",
        id="visit-sledai-item-absent",
    ),
    pytest.param(
        _blank_pga,
        "visit",
        "PGA missing at the visit",
        "pga_change",
        id="visit-pga-missing",
    ),
    pytest.param(
        _blank_bilag_system,
        "visit",
        "BILAG-2004 incomplete at the visit",
        "new_bilag_a",
        id="visit-bilag-system-none",
    ),
    pytest.param(
        _drop_bilag_system,
        "visit",
        "BILAG-2004 incomplete at the visit",
        "new_bilag_b",
        id="visit-bilag-system-absent",
    ),
]


@pytest.mark.parametrize(("blank", "where", "reason", "none_component"), MISSING_DATA_CASES)
def test_incomplete_data_is_not_evaluable_and_named(
    blank: object, where: str, reason: str, none_component: str
) -> None:
    baseline, visit = responder_pair()
    if where == "baseline":
        baseline = blank(baseline)  # type: ignore[operator]
    else:
        visit = blank(visit)  # type: ignore[operator]
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == reason
    assert getattr(result, none_component) is None


def test_incomplete_data_still_reports_the_components_that_can_be_computed() -> None:
    baseline, visit = responder_pair()
    result = sri(threshold=4, baseline=baseline, visit=_blank_pga(visit), treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.sledai_change == -6  # 4 - 10
    assert (result.new_bilag_a, result.new_bilag_b) == (0, 0)
    assert result.pga_change is None


def test_not_evaluable_reason_lists_every_gap() -> None:
    baseline, visit = responder_pair()
    result = sri(
        threshold=4,
        baseline=_blank_pga(baseline),
        visit=_blank_bilag_system(visit),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NOT_EVALUABLE
    assert result.reason == "PGA missing at baseline; BILAG-2004 incomplete at the visit"


@pytest.mark.parametrize("where", ["baseline", "visit"])
def test_data_entry_in_progress_is_not_evaluable_though_every_answer_is_given(where: str) -> None:
    baseline, visit = responder_pair()
    in_progress = dataclasses.replace(
        baseline if where == "baseline" else visit, entry_complete=False
    )
    if where == "baseline":
        baseline = in_progress
    else:
        visit = in_progress
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=False)
    assert result.outcome == Outcome.NOT_EVALUABLE
    expected = "at baseline" if where == "baseline" else "at the visit"
    assert result.reason == f"data entry in progress {expected}"
    # The components are still shown: 4 - 10.
    assert result.sledai_change == -6


# --------------------------------------------------------------------------------------------
# SRI-X: the order of the outcomes, O1-O7 (spec section 4)
# --------------------------------------------------------------------------------------------

MISSING_CANNOT_CHANGE = "the missing answers cannot change this"


def _with(a: Assessment, **changes: object) -> Assessment:
    return dataclasses.replace(a, **changes)


def _missing(a: Assessment, *descriptors: str) -> Assessment:
    return _with(a, sledai={**a.sledai, **dict.fromkeys(descriptors)})


# Baseline 10 (arthritis 4 + hematuria 4 + rash 2), PGA 1.50, every system D, unless a row
# says otherwise; the visit's totals are written beside each row.
OUTCOME_ORDER_CASES = [
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _with(assessment(VISIT_12, None), entry_complete=False),
        True,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K rose by 2; treatment failure",
        id="O1-failure-beats-an-entry-in-progress",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _with(assessment(VISIT_12, None), entry_complete=False),
        False,
        Outcome.NOT_EVALUABLE,
        "data entry in progress at the visit",
        id="O2-in-progress-beats-a-certain-failure",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), entry_complete=False),
        _with(assessment(VISIT_4, "1.00"), entry_complete=False),
        False,
        Outcome.NOT_EVALUABLE,
        "data entry in progress at baseline; data entry in progress at the visit",
        id="O2-both-in-progress",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), sledai_lookback_days=30),
        _with(assessment(VISIT_4, "1.00"), sledai_lookback_days=10),
        False,
        Outcome.NOT_EVALUABLE,
        "look-back windows differ (baseline 30 days, visit 10 days)",
        id="O3-windows-differ-on-a-responder",
    ),
    pytest.param(
        _with(assessment(("rash", "fever"), "1.50"), sledai_lookback_days=10),  # 3
        _with(assessment((), "1.00"), sledai_lookback_days=30),
        False,
        Outcome.NOT_EVALUABLE,
        "look-back windows differ (baseline 10 days, visit 30 days)",
        id="O3-beats-a-baseline-below-X",
    ),
    pytest.param(
        _with(assessment(BASELINE_10, "1.50"), sledai_lookback_days=30),
        _with(assessment(VISIT_4, "1.00"), sledai_lookback_days=30),
        False,
        Outcome.RESPONDER,
        "SLEDAI-2K fell by 6; no new BILAG A; no new BILAG B; PGA fell by 0.50",
        id="O3-same-30-day-windows-compare",
    ),
    pytest.param(
        assessment(("rash", "fever"), "1.50"),  # 3
        assessment((), None),
        False,
        Outcome.NOT_EVALUABLE,
        "baseline SLEDAI-2K 3 is below 4",
        id="O4-baseline-below-X-beats-a-missing-answer",
    ),
    pytest.param(
        _missing(assessment(("rash", "fever"), "1.50"), "pericarditis"),  # 3 + up to 2
        assessment((), "1.00"),
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at baseline",
        id="O4-needs-a-complete-baseline",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(("arthritis", "hematuria"), None),  # 8: fell by 2, PGA not done
        False,
        Outcome.NON_RESPONDER,
        f"SLEDAI-2K fell by 2; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-sledai-fell-by-2-and-pga-not-done",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_7, "1.00"), "pericarditis"),  # 7 at least: 3 at most
        False,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K can fall by 3 at most; SLEDAI-2K incomplete at the visit; "
        + MISSING_CANNOT_CHANGE,
        id="O5-visit-missing-counts-as-absent-drop-3",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_6, "1.00"), "pericarditis"),  # 6 at least: 4 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-visit-missing-could-still-give-a-drop-of-4",
    ),
    pytest.param(
        _missing(assessment(BASELINE_10, "1.50"), "pericarditis"),  # up to 12
        assessment(("arthritis", "rash", "alopecia", "fever"), "1.00"),  # 9: 3 at most
        False,
        Outcome.NON_RESPONDER,
        "SLEDAI-2K can fall by 3 at most; SLEDAI-2K incomplete at baseline; "
        + MISSING_CANNOT_CHANGE,
        id="O5-baseline-missing-counts-as-present-drop-3",
    ),
    pytest.param(
        _missing(assessment(BASELINE_10, "1.50"), "pericarditis"),  # up to 12
        assessment(("arthritis", "rash", "alopecia"), "1.00"),  # 8: 4 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at baseline",
        id="O6-baseline-missing-could-still-give-a-drop-of-4",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.00"), *SLEDAI_FIELDS[:3]),  # 4 at least: 6 at most
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-three-missing-weight-8-each-could-all-be-absent",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_12, "1.00"), "pericarditis"),  # 12 at least
        False,
        Outcome.NON_RESPONDER,
        f"SLEDAI-2K cannot fall; SLEDAI-2K incomplete at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-sledai-cannot-fall",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(VISIT_4, None, bilag(renal="A")),
        False,
        Outcome.NON_RESPONDER,
        f"1 new BILAG A; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-new-bilag-a",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50", bilag(renal=None)),
        assessment(VISIT_4, "1.00", bilag(renal="A")),
        False,
        Outcome.NOT_EVALUABLE,
        "BILAG-2004 incomplete at baseline",
        id="O6-a-system-missing-at-baseline-is-not-new",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        assessment(VISIT_4, None, bilag(renal="B", mucocutaneous="B")),
        False,
        Outcome.NON_RESPONDER,
        f"2 new BILAG B; PGA missing at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-two-new-bilag-b",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.80"), "pericarditis"),
        False,
        Outcome.NON_RESPONDER,
        f"PGA rose by 0.30; SLEDAI-2K incomplete at the visit; {MISSING_CANNOT_CHANGE}",
        id="O5-pga-rise-of-exactly-0.30",
    ),
    pytest.param(
        assessment(BASELINE_10, "1.50"),
        _missing(assessment(VISIT_4, "1.79"), "pericarditis"),
        False,
        Outcome.NOT_EVALUABLE,
        "SLEDAI-2K incomplete at the visit",
        id="O6-pga-rise-of-0.29",
    ),
    pytest.param(
        assessment(BASELINE_10, None),
        assessment(VISIT_4, "3.00"),
        False,
        Outcome.NOT_EVALUABLE,
        "PGA missing at baseline",
        id="O6-a-missing-pga-does-not-worsen",
    ),
]


@pytest.mark.parametrize(
    ("baseline", "visit", "treatment_failure", "outcome", "reason"), OUTCOME_ORDER_CASES
)
def test_the_first_outcome_rule_that_applies_decides(
    baseline: Assessment,
    visit: Assessment,
    treatment_failure: bool,
    outcome: Outcome,
    reason: str,
) -> None:
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=treatment_failure)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_a_certain_failure_with_missing_answers_keeps_the_components_it_knows() -> None:
    # Visit SLEDAI 12 is a rise of 2, but the visit PGA is missing.
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50"),
        visit=assessment(VISIT_12, None),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b) == (2, 0, 0)
    assert result.pga_change is None


# --------------------------------------------------------------------------------------------
# SRI-X: treatment failure overrides incompleteness
# --------------------------------------------------------------------------------------------


FAILURE_WITH_GAP_IDS = {
    "baseline-pga-missing",
    "visit-sledai-item-none",
    "visit-bilag-system-absent",
}


def test_treatment_failure_without_baseline_is_non_responder() -> None:
    result = sri(threshold=4, baseline=None, visit=assessment(VISIT_4), treatment_failure=True)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"
    assert result.treatment_failure is True
    assert result.sledai_change is None
    assert result.pga_change is None


@pytest.mark.parametrize(
    ("blank", "where", "reason", "none_component"),
    [case for case in MISSING_DATA_CASES if case.id in FAILURE_WITH_GAP_IDS],
)
def test_treatment_failure_with_incomplete_data_is_non_responder(
    blank: object, where: str, reason: str, none_component: str
) -> None:
    baseline, visit = responder_pair()
    if where == "baseline":
        baseline = blank(baseline)  # type: ignore[operator]
    else:
        visit = blank(visit)  # type: ignore[operator]
    result = sri(threshold=4, baseline=baseline, visit=visit, treatment_failure=True)
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "treatment failure"
    assert getattr(result, none_component) is None


def test_treatment_failure_with_baseline_below_threshold_is_non_responder() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(("rash", "fever"), "1.50"),  # 3
        visit=assessment((), "1.00"),
        treatment_failure=True,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "SLEDAI-2K fell by 3; treatment failure"


# --------------------------------------------------------------------------------------------
# SRI-X: reason texts
# --------------------------------------------------------------------------------------------


def test_responder_reason_summarises_every_component() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.50", bilag(renal="D")),
        visit=assessment(VISIT_4, "1.00", bilag(renal="B")),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.RESPONDER
    assert result.reason == "SLEDAI-2K fell by 6; no new BILAG A; 1 new BILAG B; PGA fell by 0.50"
    assert result.reason_parts[0].template == "SLEDAI-2K fell by %(points)s"
    assert result.reason_parts[0].params == {"points": "6"}
    assert result.reason_parts[3].params == {"change": "0.50"}


def test_non_responder_reason_lists_only_failed_components() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.00"),
        visit=assessment(VISIT_7, "1.30"),
        treatment_failure=False,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == "SLEDAI-2K fell by 3; PGA rose by 0.30"


def test_non_responder_reason_lists_every_failed_component_in_rule_order() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(
            BASELINE_10, "1.00", bilag(renal="D", ophthalmic="E", musculoskeletal="C")
        ),
        visit=assessment(VISIT_12, "1.31", bilag(renal="A", ophthalmic="B", musculoskeletal="B")),
        treatment_failure=True,
    )
    assert result.outcome == Outcome.NON_RESPONDER
    assert result.reason == (
        "SLEDAI-2K rose by 2; 1 new BILAG A; 2 new BILAG B; PGA rose by 0.31; treatment failure"
    )
    assert (result.sledai_change, result.new_bilag_a, result.new_bilag_b) == (2, 1, 2)
    assert result.pga_change == D("0.31")


def test_responder_reason_for_unchanged_pga() -> None:
    result = sri(
        threshold=4,
        baseline=assessment(BASELINE_10, "1.00"),
        visit=assessment(VISIT_6, "1.00"),
        treatment_failure=False,
    )
    assert result.reason == "SLEDAI-2K fell by 4; no new BILAG A; no new BILAG B; PGA unchanged"


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, -4], ids=["zero", "negative"])
def test_sri_rejects_a_threshold_that_is_not_positive(threshold: int) -> None:
    baseline, visit = responder_pair()
    with pytest.raises(ValueError, match="threshold"):
        sri(threshold=threshold, baseline=baseline, visit=visit, treatment_failure=False)


def test_assessment_validates_and_quantizes_pga() -> None:
    assert assessment(pga="1.5").pga == D("1.50")
    with pytest.raises(ValueError, match="outside"):
        assessment(pga="3.50")


def test_assessment_rejects_an_unknown_bilag_grade() -> None:
    with pytest.raises(ValueError, match="renal"):
        assessment(grades=bilag(renal="a"))


def test_assessment_is_immutable() -> None:
    answers = sledai("arthritis")
    a = Assessment(sledai=answers, pga=D("1.00"), bilag=bilag())
    answers["seizure"] = True  # changing the caller's dict does not change the assessment
    assert sledai_total(a.sledai) == 4
    with pytest.raises(FrozenInstanceError):
        a.pga = D("2.00")  # type: ignore[misc]
    with pytest.raises(TypeError):
        a.bilag["renal"] = "A"  # type: ignore[index]
