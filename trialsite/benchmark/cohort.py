"""The benchmark's cohort, written as the participants.csv and visits.csv a data manager imports
(interchange.md), so that it reaches the database through the real import.

The plan is random with a fixed seed: five sites; most infusions 380 to 440 days ago; a few
participants enrolled and awaiting infusion, withdrawn or with a treatment failure; visits on the
schedule's target days give or take two days (a few outside their window) up to today, 5% of them
missing; SLEDAI-2K, PGA and BILAG-2004 improving after Day 14 for most participants; a few answers
not done (ND), unscheduled visits (a few entered in progress), and B cells and immunoglobulins:
about twelve visits per participant, 24,000 for 2,000 participants.
"""

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from trialsite.imports import LAB_COLUMNS, PARTICIPANT_COLUMNS, VISIT_COLUMNS
from trialsite.models import NOT_DONE

SITES: tuple[str, ...] = ("S01", "S02", "S03", "S04", "S05")
DOSES: tuple[int, ...] = (30_000, 100_000, 300_000)
#: The SLEDAI-2K answers that rest on a laboratory test, the ones a visit may leave not done.
LAB_BASED_ANSWERS: tuple[str, ...] = (
    "urinary_casts",
    "hematuria",
    "pyuria",
    "low_complement",
    "increased_dna_binding",
)
#: How often: a participant awaiting infusion, withdrawn, with a treatment failure, without a
#: response; a scheduled visit missing, outside its window, with an answer not done.
AWAITING_INFUSION = 0.03
WITHDRAWN = 0.03
TREATMENT_FAILURE = 0.04
NON_RESPONDER = 0.3
MISSING_VISIT = 0.05
OUT_OF_WINDOW = 0.02
ANSWER_NOT_DONE = 0.02
RECENT_INFUSION = 0.1
#: An unscheduled visit (a flare check) falls in each of these ranges of study days with the
#: probability UNSCHEDULED_VISIT; a few are left in progress. With the ten scheduled visits, a
#: participant infused a year ago has about twelve visits.
UNSCHEDULED_DAYS: tuple[tuple[int, int], ...] = ((40, 50), (100, 160), (200, 250))
UNSCHEDULED_VISIT = 0.8
UNSCHEDULED_IN_PROGRESS = 0.1


@dataclass(frozen=True)
class ScheduledVisit:
    """A scheduled visit: its code, target study day and window (study days)."""

    code: str
    target_day: int
    window_low: int
    window_high: int


@dataclass(frozen=True)
class CohortFiles:
    """The two import files and how many rows each holds."""

    participants_csv: str
    visits_csv: str
    participant_count: int
    visit_count: int


@dataclass(frozen=True)
class _Plan:
    """One participant's disease at baseline and course after the infusion."""

    #: Tuples, not sets: a set's order changes from run to run, and the random draws follow it.
    present: tuple[str, ...]
    involved: tuple[str, ...]
    baseline_pga: Decimal
    responds: bool


def generate_cohort(
    size: int,
    *,
    schedule: list[ScheduledVisit],
    unscheduled: str | None,
    today: date,
    seed: int,
) -> CohortFiles:
    """Write ``size`` participants and their visits up to ``today`` as participants.csv and
    visits.csv text: the scheduled visits of ``schedule``, and a few with the code of the
    unscheduled visit. The same seed and day give the same files.

    The first participant of each site is infused at least 100 days ago, neither withdrawn nor
    failed, so that every site has follow-up visits to show and to save.
    """
    rng = random.Random(seed)
    participants = _Writer(PARTICIPANT_COLUMNS)
    visits = _Writer((*VISIT_COLUMNS, *LAB_COLUMNS))
    visit_count = 0
    for number in range(size):
        typical = number < len(SITES)
        participant_id = f"BENCH-{number + 1:05d}"
        awaiting = not typical and rng.random() < AWAITING_INFUSION
        if awaiting:
            enrollment = today - timedelta(days=rng.randint(3, 25))
            infusion = enrollment + timedelta(days=40)  # planned: the visits before it happen
        else:
            # Most infused a year or more ago: they have every scheduled visit to Month 12.
            recent = not typical and rng.random() < RECENT_INFUSION
            infusion = today - timedelta(
                days=rng.randint(20, 379) if recent else rng.randint(380, 440)
            )
            enrollment = infusion - timedelta(days=rng.randint(30, 50))
        withdrawal = _event_date(rng, infusion, WITHDRAWN, (30, 200), today, typical or awaiting)
        failure = _event_date(rng, infusion, TREATMENT_FAILURE, (20, 150), today, typical)
        dose = rng.choice(DOSES)
        participants.writerow(
            [
                participant_id,
                SITES[number % len(SITES)],
                "F" if rng.random() < 0.85 else "M",
                rng.randint(4, 21),
                enrollment.isoformat(),
                "" if awaiting else infusion.isoformat(),
                "" if awaiting else ("1e5" if dose == 100_000 else dose),  # both forms are valid
                _iso(failure),
                _iso(withdrawal),
            ]
        )
        plan = _Plan(
            present=tuple(rng.sample(SLEDAI_FIELDS, rng.randint(2, 6))),
            involved=tuple(rng.sample(BILAG_SYSTEMS, rng.randint(1, 4))),
            baseline_pga=Decimal(rng.randint(100, 280)) / 100,
            responds=typical or rng.random() >= NON_RESPONDER,
        )
        last_day = min(today, withdrawal) if withdrawal is not None else today
        rows = []
        for visit in schedule:
            day = visit.target_day + _jitter(rng, visit)
            visit_date = infusion + timedelta(days=day)
            if visit_date > last_day or (visit.target_day > 0 and rng.random() < MISSING_VISIT):
                continue
            rows.append((visit_date, _visit_row(rng, participant_id, visit.code, day, plan)))
        for low, high in UNSCHEDULED_DAYS:
            if unscheduled is None or awaiting or rng.random() >= UNSCHEDULED_VISIT:
                continue
            day = rng.randint(low, high)
            visit_date = infusion + timedelta(days=day)
            if visit_date > last_day:
                continue
            if rng.random() < UNSCHEDULED_IN_PROGRESS:
                row = _unscheduled_row(rng, participant_id, unscheduled)
            else:
                row = _visit_row(rng, participant_id, unscheduled, day, plan)
            rows.append((visit_date, row))
        for visit_date, row in sorted(rows, key=lambda dated: dated[0]):
            visits.writerow([row[0], row[1], visit_date.isoformat(), *row[2:]])
        visit_count += len(rows)
    return CohortFiles(
        participants_csv=participants.text(),
        visits_csv=visits.text(),
        participant_count=size,
        visit_count=visit_count,
    )


class _Writer:
    """A CSV text being written, header first."""

    def __init__(self, header: tuple[str, ...]) -> None:
        self.buffer = io.StringIO(newline="")
        self.csv = csv.writer(self.buffer, lineterminator="\n")
        self.csv.writerow(header)

    def writerow(self, row: list[object]) -> None:
        self.csv.writerow(row)

    def text(self) -> str:
        return self.buffer.getvalue()


def _iso(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _event_date(
    rng: random.Random,
    infusion: date,
    chance: float,
    days: tuple[int, int],
    today: date,
    never: bool,
) -> date | None:
    """Return the date of an event (withdrawal, treatment failure) that happens by ``chance``
    some ``days`` after the infusion, if that is not after today."""
    happens = rng.random() < chance
    if never or not happens:
        return None
    when = infusion + timedelta(days=rng.randint(*days))
    return when if when <= today else None


def _jitter(rng: random.Random, visit: ScheduledVisit) -> int:
    """Return the days a visit lands off its target: within two days and its window, or now and
    then, after the infusion, just outside the window (never out of the schedule's order)."""
    if rng.random() < OUT_OF_WINDOW and visit.target_day > 0:
        return rng.choice((visit.window_low - 1, visit.window_high + 1)) - visit.target_day
    return rng.randint(
        max(-2, visit.window_low - visit.target_day), min(2, visit.window_high - visit.target_day)
    )


def _visit_row(
    rng: random.Random, participant_id: str, code: str, day: int, plan: _Plan
) -> list[str]:
    """Return a complete visit row (the date left for the caller): the answers, then the labs."""
    improving = day > 14 and plan.responds
    kept = [name for name in plan.present if not improving or rng.random() < 0.45]
    change = (
        Decimal(rng.randint(20, 150)) / 100 if improving else Decimal(rng.randint(-20, 20)) / 100
    )
    pga = min(Decimal("3.00"), max(Decimal("0.00"), plan.baseline_pga - change))
    sledai = {name: "1" if name in kept else "0" for name in SLEDAI_FIELDS}
    if rng.random() < ANSWER_NOT_DONE:
        sledai[rng.choice(LAB_BASED_ANSWERS)] = NOT_DONE
    grades = [
        (rng.choice("CD") if improving else rng.choice("AB")) if system in plan.involved else "E"
        for system in BILAG_SYSTEMS
    ]
    return [
        participant_id,
        code,
        f"{pga:.2f}",
        *(sledai[name] for name in SLEDAI_FIELDS),
        *grades,
        *_labs(rng, day),
    ]


def _unscheduled_row(rng: random.Random, participant_id: str, code: str) -> list[str]:
    """Return an unscheduled visit entered in progress: the PGA alone."""
    pga = Decimal(rng.randint(50, 250)) / 100
    blanks = [""] * (len(SLEDAI_FIELDS) + len(BILAG_SYSTEMS) + len(LAB_COLUMNS))
    return [participant_id, code, f"{pga:.2f}", *blanks]


def _labs(rng: random.Random, day: int) -> list[str]:
    """Return the CD19+ B cells (per uL) and the IgG, IgA and IgM (g/L) of a visit: B cells gone
    after the infusion, some back after six months; immunoglobulins falling."""
    if day < 0:
        cd19 = Decimal(rng.randint(100, 500))
    elif day < 180 or rng.random() < 0.7:
        cd19 = Decimal(rng.randint(0, 5)) / 10
    else:
        cd19 = Decimal(rng.randint(10, 200))
    fall = Decimal(min(max(day, 0), 365)) / 365
    igg = Decimal(rng.randint(700, 1400)) / 100 - 3 * fall
    iga = Decimal(rng.randint(70, 300)) / 100 - fall / 2
    igm = Decimal(rng.randint(40, 200)) / 100 - fall / 4
    return [f"{value.quantize(Decimal('0.01'))}" for value in (cd19, igg, iga, igm)]
