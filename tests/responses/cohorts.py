"""The cohorts of the report tests, as data: participant id -> enrolment and visits.

tests.factories.build_cohort enrols each through the services and records its visits, which
compute every total and SRI result. Each cohort keeps the values its tests were counted by hand
against; two cohorts that differ stay two cohorts.
"""

from datetime import date, timedelta

from tests.factories import ALL_E, ParticipantRow, VisitRow, grades

# --------------------------------------------------------------------------------------------
# The report cohort: seven children, reported as of 2025-06-30 (fixture report_cohort)
# --------------------------------------------------------------------------------------------

ENROLLED = date(2025, 1, 6)
INFUSED = date(2025, 2, 10)
BL_DATE = INFUSED - timedelta(days=7)
M3_DATE = INFUSED + timedelta(days=90)  # 2025-05-11, also the Month 3 target date
M3_LAST_DAY = INFUSED + timedelta(days=104)  # 2025-05-25, the last day of Month 3's window
AFTER_M3 = date(2025, 6, 30)

# Baseline: arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1 weights).
BL_PRESENT = {"arthritis", "rash", "low_complement"}
BL_GRADES = grades(musculoskeletal="B")
M3_GRADES = grades(musculoskeletal="D")


def child(
    site: str, sex: str, age: int, dose: int, *, infused: date | None = INFUSED, **rest
) -> ParticipantRow:
    """A child of the report cohort, enrolled 2025-01-06 and infused 2025-02-10 unless said."""
    return ParticipantRow(site, sex, age, dose, enrolled=ENROLLED, infused=infused, **rest)


def bl_visit(present: set[str], pga: str | None, bilag=BL_GRADES) -> VisitRow:
    """The baseline visit, 7 days before the infusion."""
    return VisitRow(-7, present, pga, bilag)


def m3_visit(present: set[str], pga: str | None, bilag=M3_GRADES) -> VisitRow:
    """Month 3 on its target date, study day 90 (2025-05-11)."""
    return VisitRow(90, present, pga, bilag)


# Every baseline has musculoskeletal B, Month 3 has it D (no new A or B).
#
# | id    | site | sex | age | dose   | BL SLEDAI | BL PGA | Month 3                           |
# | H-001 | S01  | F   | 8   | 30000  | 8         | 2.00   | SLEDAI 2 (fall 6): responder      |
# | H-002 | S01  | F   | 14  | 100000 | 8 (renal A)| 1.50  | SLEDAI 6 (fall 2): non-responder  |
# | H-003 | S02  | M   | 15  | 100000 | 8         | 2.50   | PGA missing: not evaluable        |
# | H-004 | S01  | F   | 10  | 30000  | 12 (+pyuria 4)| 1.00 | not recorded: missing          |
# | H-005 | S02  | F   | 16  | 100000 | 8         | 2.20   | withdrew 2025-04-01: withdrawn    |
# | H-006 | S01  | M   | 5   | 30000  | 8         | 1.80   | SLEDAI 2, rescue 2025-04-15: TF   |
# | H-007 | S02  | F   | 12  | 100000 | 8         | 2.10   | infused 2025-05-20: not yet due   |
REPORT_COHORT = {
    "H-001": child("S01", "F", 8, 30_000,
                   visits={"BL": bl_visit(BL_PRESENT, "2.00"),
                           "M3": m3_visit({"low_complement"}, "0.50")}),
    "H-002": child("S01", "F", 14, 100_000,
                   visits={"BL": bl_visit(BL_PRESENT, "1.50",
                                          grades(musculoskeletal="B", renal="A")),
                           "M3": m3_visit({"arthritis", "low_complement"}, "0.50",
                                          grades(musculoskeletal="D", renal="C"))}),
    "H-003": child("S02", "M", 15, 100_000,
                   visits={"BL": bl_visit(BL_PRESENT, "2.50"),
                           "M3": m3_visit({"low_complement"}, None)}),
    "H-004": child("S01", "F", 10, 30_000,
                   visits={"BL": bl_visit(BL_PRESENT | {"pyuria"}, "1.00")}),
    "H-005": child("S02", "F", 16, 100_000, details={"withdrawal_date": date(2025, 4, 1)},
                   visits={"BL": bl_visit(BL_PRESENT, "2.20")}),
    "H-006": child("S01", "M", 5, 30_000, details={"treatment_failure_date": date(2025, 4, 15)},
                   visits={"BL": bl_visit(BL_PRESENT, "1.80"),
                           "M3": m3_visit({"low_complement"}, "0.50")}),
    # Its baseline 7 days before its infusion: 2025-05-13.
    "H-007": child("S02", "F", 12, 100_000, infused=date(2025, 5, 20),
                   visits={"BL": bl_visit(BL_PRESENT, "2.10")}),
}  # fmt: skip


def report_load_cohort(size: int) -> dict[str, ParticipantRow]:
    """Each participant: BL (SLEDAI 8) and Month 3 (SLEDAI 2, a responder), at S01 or S02; and
    for every third one, a child enrolled but never infused."""
    table = {}
    for number in range(size):
        if number % 3 == 0:
            table[f"N-{number:03d}"] = child("S01", "F", 7, 100_000, infused=None)
        table[f"Q-{number:03d}"] = child(
            f"S0{1 + number % 2}",
            "F",
            6 + number % 12,
            100_000,
            visits={
                "BL": bl_visit(BL_PRESENT, "2.00", grades(renal="B")),
                "M3": m3_visit({"rash"}, "1.00", grades(renal="D")),
            },
        )
    return table


# --------------------------------------------------------------------------------------------
# The selectors' cohort of responders, of any size (enrolled and infused as the report cohort)
# --------------------------------------------------------------------------------------------

#: After every visit of responders_cohort (Month 3 is 2025-05-11).
AS_OF = date(2025, 6, 30)


def selectors_participant(
    site: str, *, enrolled: date = ENROLLED, infused: date | None = INFUSED, **rest
) -> ParticipantRow:
    """A participant of the selector tests: a girl of 12, no dose recorded."""
    return ParticipantRow(site, "F", 12, None, enrolled=enrolled, infused=infused, **rest)


RESPONDER_VISITS = {
    "BL": VisitRow(-7, {"arthritis", "rash"}, "1.50", ALL_E),
    "M1": VisitRow(28, {"rash"}, "1.00", ALL_E),
    "M3": VisitRow(90, set(), "0.50", ALL_E),
}


def responders_cohort(size: int) -> dict[str, ParticipantRow]:
    """Each participant: BL (arthritis 4 + rash 2 = 6), M1 (rash, 2) and M3 (nothing, 0).

    Even-numbered participants are at site S01, odd at S02. M1 drops 4: SRI-4 responder.
    """
    return {
        f"Q-{number:03d}": selectors_participant(f"S0{1 + number % 2}", visits=RESPONDER_VISITS)
        for number in range(size)
    }


# --------------------------------------------------------------------------------------------
# The analysis cohort (clinical-rules.md section 4a), reported as of 2024-06-30 (fixture
# analysis_cohort). Every number the tests expect from it is counted by hand from the rules in
# test_exports.py.
# --------------------------------------------------------------------------------------------

ANALYSIS_ENROLLED = date(2024, 1, 2)
I1 = date(2024, 3, 1)

# Baseline: arthritis 4 + rash 2 + low complement 2 = 8 (clinical-rules.md section 1 weights),
# PGA 2.00, musculoskeletal B. A responder visit: low complement only (2, a fall of 6), PGA
# 1.00, musculoskeletal D. A non-responder: arthritis + low complement (6, a fall of 2).
BASELINE_8 = {"arthritis", "rash", "low_complement"}
BASELINE_2 = {"rash"}  # below 4: outside the SRI-4 analysis set (O4)
RESPONDING = {"low_complement"}
NOT_RESPONDING = {"arthritis", "low_complement"}


def infused(
    on: date,
    *visits: tuple[str, VisitRow],
    enrolled: date = ANALYSIS_ENROLLED,
    baseline: set[str] = BASELINE_8,
    **details,
) -> ParticipantRow:
    """A participant of the analysis cohort infused ``on``: baseline 7 days before (PGA 2.00,
    musculoskeletal B), then ``visits``."""
    return ParticipantRow(
        "S01", "F", 12, 100_000, enrolled=enrolled, infused=on,
        visits={"BL": VisitRow(-7, baseline, "2.00", grades(musculoskeletal="B")), **dict(visits)},
        details=details,
    )  # fmt: skip


def not_infused(**details) -> ParticipantRow:
    return ParticipantRow("S01", "F", 12, None, enrolled=ANALYSIS_ENROLLED, infused=None,
                          details=details)  # fmt: skip


def visit(code: str, on: date, present: set[str], pga: str | None = "1.00"):
    """A follow-up visit of the analysis cohort (musculoskeletal D)."""
    return code, VisitRow(on, present, pga, grades(musculoskeletal="D"))


WITHDRAWN = "Family decision"

ANALYSIS_COHORT = {
    "P01": infused(I1, visit("M1", date(2024, 3, 29), RESPONDING),
                   visit("M3", date(2024, 5, 30), RESPONDING)),
    "P02": infused(I1, visit("M1", date(2024, 3, 29), NOT_RESPONDING)),
    "P03": infused(I1, visit("M1", date(2024, 3, 29), set()), baseline=BASELINE_2),
    "P04": infused(I1, visit("M1", date(2024, 3, 29), RESPONDING),
                   visit("M3", date(2024, 5, 30), RESPONDING),
                   treatment_failure_date=date(2024, 4, 20)),
    "P05": infused(I1, visit("M1", date(2024, 3, 29), RESPONDING),
                   withdrawal_date=date(2024, 5, 10), withdrawal_reason=WITHDRAWN),
    # Month 3 without its PGA: saved in progress, not evaluable (O2).
    "P06": infused(I1, visit("M3", date(2024, 5, 30), RESPONDING, pga=None)),
    # Month 1 on study day 40, outside its window (21..35).
    "P07": infused(date(2024, 4, 10), visit("M1", date(2024, 5, 20), RESPONDING)),
    # Month 3 on 2024-07-01 and treatment failure on 2024-07-10: both after the cut.
    "P08": infused(date(2024, 4, 1), visit("M1", date(2024, 4, 29), RESPONDING),
                   visit("M3", date(2024, 7, 1), RESPONDING),
                   treatment_failure_date=date(2024, 7, 10)),
    # Enrolled after the cut: counts nowhere.
    "P09": infused(date(2024, 8, 1), visit("M1", date(2024, 8, 29), RESPONDING),
                   enrolled=date(2024, 7, 5)),
    "P10": not_infused(not_infused_reason="manufacturing_failure"),
    "P11": not_infused(withdrawal_date=date(2024, 2, 15), withdrawal_reason=WITHDRAWN),
    # Infused on the cut date and the day before it.
    "P12": infused(date(2024, 6, 30)),
    "P13": infused(date(2024, 6, 29)),
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# The matrix cohort: more participants than a page of the response matrix, reported as of
# 2025-09-30 (test_paged_reports.py)
# --------------------------------------------------------------------------------------------

#: After every visit of the matrix cohort.
MATRIX_AS_OF = date(2025, 9, 30)
MATRIX_SITES = ("S02", "S01", "S03")
MATRIX_DOSES = (300_000, None, 30_000, 100_000)
#: 62 participants: two pages of the matrix, and more than one page of CSV rows.
MATRIX_SIZE = 62


def matrix_child(number: int) -> ParticipantRow:
    """Participant M-<number>: sites, doses and infusion dates that sort differently from the
    participant ID; every seventh not infused (no infusion date, no visit), the others with
    baseline and Month 3."""
    infused = None if number % 7 == 3 else ENROLLED + timedelta(days=30 + (number * 11) % 40)
    visits = {}
    if infused is not None:
        visits = {
            "BL": VisitRow(-7, BL_PRESENT, "2.00", grades(renal="B")),
            "M3": VisitRow(90, {"rash"}, "1.00", grades(renal="D")),
        }
    site, dose = MATRIX_SITES[number % 3], MATRIX_DOSES[number % 4]
    return ParticipantRow(site, "F", 10, dose, enrolled=ENROLLED, infused=infused, visits=visits)


MATRIX_COHORT = {f"M-{number:03d}": matrix_child(number) for number in range(MATRIX_SIZE)}
