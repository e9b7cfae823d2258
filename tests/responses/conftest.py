"""A cohort for the analysis sets (clinical-rules.md section 4a), reported as of 2024-06-30.

Every number the tests expect from it is counted by hand from the rules in test_exports.py.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from tests import factories
from tests.factories import SiteFactory
from trialsite import services
from trialsite.models import Participant, Study

CUT = date(2024, 6, 30)
ENROLLED = date(2024, 1, 2)
I1 = date(2024, 3, 1)

# Baseline: arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1 weights),
# PGA 2.00, musculoskeletal B. A responder visit: low complement only (2, a fall of 6), PGA
# 1.00, musculoskeletal D. A non-responder: arthritis + low complement (6, a fall of 2).
BASELINE_8 = {"arthritis", "rash", "low_complement"}
BASELINE_2 = {"rash"}  # below 4: outside the SRI-4 analysis set (O4)
RESPONDING = {"low_complement"}
NOT_RESPONDING = {"arthritis", "low_complement"}


@dataclass(frozen=True)
class Person:
    """One participant of the cohort; visits are (code, date, SLEDAI-2K present, PGA)."""

    participant_id: str
    infusion: date | None
    enrolled: date = ENROLLED
    baseline: frozenset[str] = frozenset(BASELINE_8)
    visits: tuple[tuple[str, date, frozenset[str], str | None], ...] = ()
    dates: dict[str, date] = field(default_factory=dict)
    not_infused_reason: str = ""
    not_infused_note: str = ""


def visit(code: str, on: date, present: set[str], pga: str | None = "1.00"):
    return (code, on, frozenset(present), pga)


ANALYSIS_COHORT = [
    Person("P01", I1, visits=(visit("M1", date(2024, 3, 29), RESPONDING),
                              visit("M3", date(2024, 5, 30), RESPONDING))),
    Person("P02", I1, visits=(visit("M1", date(2024, 3, 29), NOT_RESPONDING),)),
    Person("P03", I1, baseline=frozenset(BASELINE_2),
           visits=(visit("M1", date(2024, 3, 29), set()),)),
    Person("P04", I1, dates={"treatment_failure_date": date(2024, 4, 20)},
           visits=(visit("M1", date(2024, 3, 29), RESPONDING),
                   visit("M3", date(2024, 5, 30), RESPONDING))),
    Person("P05", I1, dates={"withdrawal_date": date(2024, 5, 10)},
           visits=(visit("M1", date(2024, 3, 29), RESPONDING),)),
    # Month 3 without its PGA: saved in progress, not evaluable (O2).
    Person("P06", I1, visits=(visit("M3", date(2024, 5, 30), RESPONDING, pga=None),)),
    # Month 1 on study day 40, outside its window (21..35).
    Person("P07", date(2024, 4, 10), visits=(visit("M1", date(2024, 5, 20), RESPONDING),)),
    # Month 3 on 2024-07-01 and treatment failure on 2024-07-10: both after the cut.
    Person("P08", date(2024, 4, 1), dates={"treatment_failure_date": date(2024, 7, 10)},
           visits=(visit("M1", date(2024, 4, 29), RESPONDING),
                   visit("M3", date(2024, 7, 1), RESPONDING))),
    # Enrolled after the cut: counts nowhere.
    Person("P09", date(2024, 8, 1), enrolled=date(2024, 7, 5),
           visits=(visit("M1", date(2024, 8, 29), RESPONDING),)),
    Person("P10", None, not_infused_reason="manufacturing_failure"),
    Person("P11", None, dates={"withdrawal_date": date(2024, 2, 15)}),
    # Infused on the cut date and the day before it.
    Person("P12", date(2024, 6, 30)),
    Person("P13", date(2024, 6, 29)),
]  # fmt: skip


def _sledai(present: frozenset[str]) -> dict[str, bool]:
    return {name: name in present for name in SLEDAI_FIELDS}


def build_analysis_cohort(study: Study) -> dict[str, Participant]:
    """Enrol the cohort through the services and record its visits (baseline 7 days before
    infusion)."""
    site = SiteFactory(code="S01")
    people = {}
    for person in ANALYSIS_COHORT:
        participant = Participant(
            study=study,
            site=site,
            participant_id=person.participant_id,
            sex="F",
            age_at_enrollment=12,
            enrollment_date=person.enrolled,
            infusion_date=person.infusion,
            dose_cells_per_kg=100_000 if person.infusion is not None else None,
            not_infused_reason=person.not_infused_reason,
            not_infused_note=person.not_infused_note,
            withdrawal_reason="Family decision" if "withdrawal_date" in person.dates else "",
            **person.dates,
        )
        people[person.participant_id] = services.participant_save(
            participant=participant, author=None, reason="test"
        )
        if person.infusion is None:
            continue
        baseline_grades = {**dict.fromkeys(BILAG_SYSTEMS, "E"), "musculoskeletal": "B"}
        factories.record_visit(
            participant,
            "BL",
            person.infusion - timedelta(days=7),
            pga="2.00",
            sledai=_sledai(person.baseline),
            bilag=baseline_grades,
        )
        for code, on, present, pga in person.visits:
            factories.record_visit(
                participant,
                code,
                on,
                pga=pga,
                sledai=_sledai(present),
                bilag={**baseline_grades, "musculoskeletal": "D"},
            )
    return people


@pytest.fixture
def analysis_cohort(study) -> dict[str, Participant]:
    return build_analysis_cohort(study)
