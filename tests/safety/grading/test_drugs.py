"""Drug classes and the drugs prohibited after infusion (safety.grading.drugs), clinical-rules.md
section 6b. The expected classes are the spec's lists, not the code's tables."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from safety.grading.drugs import (
    DrugClass,
    biologics_after_infusion,
    drug_class,
    first_prohibited_day,
    is_known_drug,
    is_prohibited_after_infusion,
    new_immunosuppressants,
    normalise_drug,
    other_immunosuppressants_on,
)
from safety.grading.steroids import MedicationCourse, Route, prednisolone_equivalent_on

INFUSION = date(2026, 2, 9)
DAY_1 = INFUSION + timedelta(days=1)


def _day(study_day: int) -> date:
    return INFUSION + timedelta(days=study_day)


def _course(drug: str, start: int, stop: int | None) -> MedicationCourse:
    return MedicationCourse(
        drug=drug,
        daily_dose_mg=Decimal("500"),
        route=Route.INTRAVENOUS,
        start_date=_day(start),
        stop_date=_day(stop) if stop is not None else None,
    )


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        pytest.param("prednisolone", "prednisolone", id="generic-as-is"),
        pytest.param("  Prednisolone ", "prednisolone", id="trimmed-lower-case"),
        pytest.param("Mycophenolate Mofetil", "mycophenolate", id="mmf"),
        pytest.param("mycophenolate   mofetil", "mycophenolate", id="mmf-spaces-collapsed"),
        pytest.param("mycophenolic acid", "mycophenolate", id="mycophenolic-acid"),
        pytest.param("mycophenolate sodium", "mycophenolate", id="mycophenolate-sodium"),
        pytest.param("cyclosporine", "ciclosporin", id="cyclosporine"),
        pytest.param("Cyclosporin", "ciclosporin", id="cyclosporin"),
        pytest.param("ciclosporin", "ciclosporin", id="ciclosporin"),
        pytest.param("hydroxychloroquine sulfate", "hydroxychloroquine", id="hcq-salt"),
        pytest.param("IVIG", "immunoglobulin", id="ivig"),
        pytest.param("human normal immunoglobulin", "immunoglobulin", id="immunoglobulin"),
        pytest.param("prednisone", "prednisone", id="prednisone-is-its-own-drug"),
        pytest.param("  Vitamin   D ", "vitamin d", id="unknown-kept-normalised"),
    ],
)
def test_a_drug_is_stored_as_its_generic_name(typed: str, stored: str) -> None:
    assert normalise_drug(typed) == stored


# --------------------------------------------------------------------------------------------
# Classes: every drug section 6b names
# --------------------------------------------------------------------------------------------

SPEC_CLASSES = [
    *(
        (drug, DrugClass.GLUCOCORTICOID)
        for drug in (
            "prednisolone",
            "prednisone",
            "methylprednisolone",
            "hydrocortisone",
            "dexamethasone",
            "betamethasone",
            "deflazacort",
        )
    ),
    *(
        (drug, DrugClass.MAINTENANCE_IMMUNOSUPPRESSANT)
        for drug in (
            "hydroxychloroquine",
            "mycophenolate",
            "azathioprine",
            "methotrexate",
            "tacrolimus",
            "ciclosporin",
        )
    ),
    ("cyclophosphamide", DrugClass.OTHER_IMMUNOSUPPRESSANT),
    ("voclosporin", DrugClass.OTHER_IMMUNOSUPPRESSANT),
    *(
        (drug, DrugClass.BIOLOGIC)
        for drug in ("rituximab", "obinutuzumab", "belimumab", "anifrolumab")
    ),
    *((drug, DrugClass.CRS_ICANS_TREATMENT) for drug in ("tocilizumab", "siltuximab", "anakinra")),
    ("immunoglobulin", DrugClass.IMMUNOGLOBULIN_REPLACEMENT),
]


@pytest.mark.parametrize(("drug", "expected"), SPEC_CLASSES, ids=[d for d, _c in SPEC_CLASSES])
def test_every_drug_of_section_6b_has_its_class(drug: str, expected: DrugClass) -> None:
    assert drug_class(drug) == expected
    assert is_known_drug(drug)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("Mycophenolate Mofetil", DrugClass.MAINTENANCE_IMMUNOSUPPRESSANT, id="mmf"),
        pytest.param("cyclosporine", DrugClass.MAINTENANCE_IMMUNOSUPPRESSANT, id="cyclosporine"),
        pytest.param("IVIG", DrugClass.IMMUNOGLOBULIN_REPLACEMENT, id="ivig"),
        pytest.param("RITUXIMAB", DrugClass.BIOLOGIC, id="upper-case"),
        pytest.param("vitamin d", DrugClass.OTHER, id="unknown"),
        pytest.param("fludarabine", DrugClass.OTHER, id="lymphodepletion-not-a-medication"),
    ],
)
def test_synonyms_and_unknown_drugs_get_their_class(typed: str, expected: DrugClass) -> None:
    assert drug_class(typed) == expected


def test_an_unknown_drug_is_not_known() -> None:
    assert not is_known_drug("vitamin d")


# --------------------------------------------------------------------------------------------
# Prohibited after infusion: biologics and cyclophosphamide
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "prohibited"),
    [
        pytest.param("rituximab", True, id="rituximab"),
        pytest.param("obinutuzumab", True, id="obinutuzumab"),
        pytest.param("belimumab", True, id="belimumab"),
        pytest.param("anifrolumab", True, id="anifrolumab"),
        pytest.param("Cyclophosphamide ", True, id="cyclophosphamide"),
        pytest.param("voclosporin", False, id="voclosporin-allowed"),
        pytest.param("mycophenolate mofetil", False, id="maintenance-allowed"),
        pytest.param("hydroxychloroquine", False, id="antimalarial-allowed"),
        pytest.param("prednisolone", False, id="glucocorticoid-counted-by-dose"),
        pytest.param("tocilizumab", False, id="crs-treatment-allowed"),
        pytest.param("anakinra", False, id="icans-treatment-allowed"),
        pytest.param("IVIG", False, id="immunoglobulin-allowed"),
        pytest.param("vitamin d", False, id="unknown-not-prohibited"),
    ],
)
def test_biologics_and_cyclophosphamide_are_prohibited_after_infusion(
    drug: str, prohibited: bool
) -> None:
    assert is_prohibited_after_infusion(drug) is prohibited


# --------------------------------------------------------------------------------------------
# The first day after infusion a prohibited course was active (study days; Day 0 = infusion)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "stop", "today", "expected"),
    [
        pytest.param(82, None, 100, 82, id="started-day-82-ongoing"),
        pytest.param(82, 82, 100, 82, id="one-dose-day-82"),
        pytest.param(1, 1, 100, 1, id="one-dose-day-1"),
        pytest.param(0, 0, 100, None, id="one-dose-on-the-infusion-day"),
        pytest.param(-30, 0, 100, None, id="stopped-on-the-infusion-day"),
        pytest.param(-30, -1, 100, None, id="stopped-before-infusion"),
        pytest.param(-30, 1, 100, 1, id="stopped-on-day-1"),
        pytest.param(-30, None, 100, 1, id="ongoing-from-before-infusion"),
        pytest.param(-30, None, 0, None, id="ongoing-but-day-1-not-yet-come"),
        pytest.param(-30, None, 1, 1, id="ongoing-and-today-is-day-1"),
        pytest.param(0, None, 1, 1, id="started-on-the-infusion-day-ongoing"),
    ],
)
def test_a_prohibited_course_proposes_its_first_day_after_infusion(
    start: int, stop: int | None, today: int, expected: int | None
) -> None:
    course = _course("rituximab", start, stop)
    found = first_prohibited_day(course, infusion_date=INFUSION, today=_day(today))
    assert found == (_day(expected) if expected is not None else None)


@pytest.mark.parametrize("drug", ["tocilizumab", "mycophenolate", "prednisolone", "vitamin d"])
def test_an_allowed_drug_after_infusion_proposes_nothing(drug: str) -> None:
    course = _course(drug, 5, None)
    assert first_prohibited_day(course, infusion_date=INFUSION, today=_day(100)) is None


def test_the_route_of_a_course_is_written_as_in_medications_csv() -> None:
    assert [route.value for route in Route] == ["oral", "iv", "other"]


# An intravenous pulse is usually written with its salt or brand: each must count by its dose
# (a 1000 mg methylprednisolone pulse is 1250 mg of prednisolone, never 0).
@pytest.mark.parametrize(
    ("typed", "generic", "prednisolone_mg"),
    [
        ("Methylprednisolone sodium succinate", "methylprednisolone", Decimal("1250")),
        ("methylprednisolone hemisuccinate", "methylprednisolone", Decimal("1250")),
        ("methylprednisolone acetate", "methylprednisolone", Decimal("1250")),
        ("Solu-Medrol", "methylprednisolone", Decimal("1250")),
        ("Medrol", "methylprednisolone", Decimal("1250")),
        ("hydrocortisone sodium succinate", "hydrocortisone", Decimal("250")),
        ("hydrocortisone sodium phosphate", "hydrocortisone", Decimal("250")),
        ("Solu-Cortef", "hydrocortisone", Decimal("250")),
        ("dexamethasone sodium phosphate", "dexamethasone", Decimal("20000") / 3),
        ("dexamethasone phosphate", "dexamethasone", Decimal("20000") / 3),
        ("prednisolone sodium phosphate", "prednisolone", Decimal("1000")),
        ("prednisolone acetate", "prednisolone", Decimal("1000")),
        ("betamethasone sodium phosphate", "betamethasone", Decimal("25000") / 3),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_glucocorticoid_salts_and_brands_count_by_their_dose(typed, generic, prednisolone_mg):
    assert normalise_drug(typed) == generic
    assert drug_class(typed) == DrugClass.GLUCOCORTICOID
    course = MedicationCourse(
        drug=normalise_drug(typed),
        daily_dose_mg=Decimal("1000"),
        route=Route.INTRAVENOUS,
        start_date=DAY_1,
        stop_date=DAY_1,
    )
    exact = prednisolone_equivalent_on([course], DAY_1)
    assert Decimal(exact.numerator) / Decimal(exact.denominator) == prednisolone_mg


@pytest.mark.parametrize(
    ("typed", "generic"),
    [
        ("MabThera", "rituximab"),
        ("Rituxan", "rituximab"),
        ("Gazyva", "obinutuzumab"),
        ("Gazyvaro", "obinutuzumab"),
        ("Ocrevus", "ocrelizumab"),
        ("Kesimpta", "ofatumumab"),
        ("Arzerra", "ofatumumab"),
        ("Uplizna", "inebilizumab"),
        ("Benlysta", "belimumab"),
        ("Saphnelo", "anifrolumab"),
        ("epratuzumab", "epratuzumab"),
        ("tabalumab", "tabalumab"),
        ("blisibimod", "blisibimod"),
        ("sifalimumab", "sifalimumab"),
    ],
)
def test_biologic_brands_and_lupus_biologics_are_prohibited_after_infusion(typed, generic):
    assert normalise_drug(typed) == generic
    assert drug_class(typed) == DrugClass.BIOLOGIC
    assert is_prohibited_after_infusion(typed)


@pytest.mark.parametrize("typed", ["Actemra", "RoActemra"])
def test_tocilizumab_brands_treat_crs_and_are_allowed(typed):
    assert normalise_drug(typed) == "tocilizumab"
    assert drug_class(typed) == DrugClass.CRS_ICANS_TREATMENT
    assert not is_prohibited_after_infusion(typed)


# --------------------------------------------------------------------------------------------
# What LLDAS and DORIS read of the courses (clinical-rules.md section 5)
# --------------------------------------------------------------------------------------------

VISIT = date(2026, 5, 10)


def _dated(drug: str, start: date, stop: date | None = None) -> MedicationCourse:
    return MedicationCourse(
        drug=drug,
        daily_dose_mg=Decimal("10"),
        route=Route.ORAL,
        start_date=start,
        stop_date=stop,
    )


@pytest.mark.parametrize(
    ("days_before_visit", "new"),
    [(29, False), (28, True), (1, True), (0, False), (-1, False)],
    ids=["visit-29", "visit-28", "visit-1", "visit day", "after the visit"],
)
def test_an_immunosuppressant_is_new_when_started_in_the_28_days_before_the_visit(
    days_before_visit: int, new: bool
) -> None:
    start = VISIT - timedelta(days=days_before_visit)
    found = new_immunosuppressants([_dated("cyclophosphamide", start)], visit_date=VISIT)
    assert found == ([("cyclophosphamide", start)] if new else [])


@pytest.mark.parametrize(
    ("drug", "new"),
    [
        ("cyclophosphamide", True),
        ("voclosporin", True),
        ("Rituximab", True),
        ("belimumab", True),
        ("mycophenolate", False),
        ("hydroxychloroquine", False),
        ("tacrolimus", False),
        ("prednisolone", False),
        ("methylprednisolone", False),
        ("tocilizumab", False),
        ("immunoglobulin", False),
        ("vitamin d", False),
    ],
)
def test_only_immunosuppressants_other_than_maintenance_ones_are_new(drug: str, new: bool) -> None:
    start = VISIT - timedelta(days=10)
    found = new_immunosuppressants([_dated(drug, start)], visit_date=VISIT)
    assert found == ([(normalise_drug(drug), start)] if new else [])


def test_a_change_of_dose_continuing_the_same_drug_is_not_new() -> None:
    change = VISIT - timedelta(days=10)
    courses = [
        _dated("voclosporin", VISIT - timedelta(days=90), change - timedelta(days=1)),
        _dated("voclosporin", change),
    ]
    assert new_immunosuppressants(courses, visit_date=VISIT) == []


def test_a_drug_restarted_after_a_gap_is_new() -> None:
    restart = VISIT - timedelta(days=10)
    courses = [
        _dated("voclosporin", VISIT - timedelta(days=90), restart - timedelta(days=2)),
        _dated("voclosporin", restart),
    ]
    assert new_immunosuppressants(courses, visit_date=VISIT) == [("voclosporin", restart)]


INFUSED = date(2026, 2, 9)


@pytest.mark.parametrize(
    ("start", "stop", "first_day"),
    [
        (date(2025, 12, 1), INFUSED, None),
        (date(2025, 12, 1), INFUSED + timedelta(days=1), INFUSED + timedelta(days=1)),
        (date(2026, 4, 1), None, date(2026, 4, 1)),
        (VISIT, None, VISIT),
        (VISIT + timedelta(days=1), None, None),
    ],
    ids=[
        "stopped on the infusion day",
        "still given on Day 1",
        "started after the infusion",
        "started on the visit date",
        "started after the visit",
    ],
)
def test_a_biologic_counts_from_day_1_up_to_the_visit(
    start: date, stop: date | None, first_day: date | None
) -> None:
    found = biologics_after_infusion(
        [_dated("rituximab", start, stop)], infusion_date=INFUSED, visit_date=VISIT
    )
    assert found == ([("rituximab", first_day)] if first_day is not None else [])


@pytest.mark.parametrize(
    ("stop", "counted"),
    [(None, True), (VISIT, True), (VISIT - timedelta(days=1), False)],
    ids=["ongoing", "stopped on the visit date", "stopped the day before"],
)
def test_without_an_infusion_date_a_biologic_counts_on_the_visit_date(
    stop: date | None, counted: bool
) -> None:
    courses = [_dated("belimumab", VISIT - timedelta(days=60), stop)]
    found = biologics_after_infusion(courses, infusion_date=None, visit_date=VISIT)
    assert found == ([("belimumab", VISIT)] if counted else [])


@pytest.mark.parametrize(
    ("drug", "counted"),
    [
        ("voclosporin", True),
        ("cyclophosphamide", True),
        ("mycophenolate", False),
        ("hydroxychloroquine", False),
        ("rituximab", False),
        ("prednisolone", False),
    ],
)
def test_doris_counts_non_maintenance_immunosuppressants_given_on_the_visit_date(
    drug: str, counted: bool
) -> None:
    courses = [_dated(drug, VISIT - timedelta(days=60))]
    assert other_immunosuppressants_on(courses, VISIT) == ([(drug, VISIT)] if counted else [])
    stopped = [_dated(drug, VISIT - timedelta(days=60), VISIT - timedelta(days=1))]
    assert other_immunosuppressants_on(stopped, VISIT) == []
