"""CSV writing: exact columns, two-decimal PGA, empty cells for None, no formula injection;
cohort.csv of both analysis sets as of a data cut, against hand counts."""

import csv
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from responses.exports import (
    COHORT_COLUMNS,
    MITT_COLUMNS,
    RESPONSES_COLUMNS,
    ExportScope,
    format_two_decimals,
    write_cohort_csv,
    write_mitt_csv,
)
from responses.selectors.cohort import CohortRow
from tests.factories import ParticipantRow, SiteFactory, VisitRow, build_cohort
from trialsite.models import Study


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (Decimal("-0.5"), "-0.50"),
        (Decimal("0.3"), "0.30"),
        (Decimal("2"), "2.00"),
        (Decimal("-0.00"), "0.00"),
        # A median of 1.20 and 1.53 is 1.365: halves round up, not to even.
        (Decimal("1.365"), "1.37"),
        (Decimal("1.375"), "1.38"),
        (None, ""),
    ],
)
def test_pga_is_written_with_exactly_two_decimals(value, written):
    assert format_two_decimals(value) == written


def test_cohort_csv_writes_empty_cells_for_a_visit_nobody_evaluable_reached():
    out = StringIO()
    rows = [
        CohortRow("M1", "Month 1", 2, 0, 0, None, None, None, 1),
        CohortRow(
            "M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"), 0
        ),
    ]
    scope = ExportScope(as_of=date(2026, 11, 29), sites=("S01",), endpoint="sri4")
    write_cohort_csv(out, rows, scope)
    facts = ["sri4", "observed", "S01", "", "2026-11-29"]
    assert list(csv.reader(StringIO(out.getvalue()))) == [
        list(COHORT_COLUMNS),
        ["M1", "2", "0", "0", "", "", "", "1", *facts],
        ["M3", "5", "5", "4", "0.8000", "0.2836", "0.9949", "0", *facts],
    ]


def test_every_row_repeats_what_the_file_holds_after_the_contract_columns():
    # Two sites and the other filters; the mITT writer names its own population.
    scope = ExportScope(
        as_of=date(2024, 6, 30),
        sites=("S01", "S03"),
        filters="dose=100000;sex=F;age=6-11",
        endpoint="bicla",
    )
    out = StringIO()
    write_mitt_csv(out, [], scope)
    assert list(csv.reader(StringIO(out.getvalue()))) == [list(MITT_COLUMNS)]
    row = CohortRow("M1", "Month 1", 1, 1, 1, Decimal("1.0000"), Decimal("0.0250"), None, 0)
    out = StringIO()
    write_cohort_csv(out, [row], scope)
    header, cells = list(csv.reader(StringIO(out.getvalue())))
    assert dict(zip(header, cells, strict=True)) == {
        "visit": "M1", "reached": "1", "evaluable": "1", "responders": "1", "rate": "1.0000",
        "ci_low": "0.0250", "ci_high": "", "out_of_window": "0", "endpoint": "bicla",
        "population": "observed", "sites": "S01;S03", "filters": "dose=100000;sex=F;age=6-11",
        "as_of": "2024-06-30",
    }  # fmt: skip
    # A user without any site holds nothing: "none", never "all".
    assert ExportScope(as_of=date(2024, 6, 30), sites=()).cells() == ("none", "", date(2024, 6, 30))


def test_export_responses_neutralises_a_formula_in_a_participant_id(study, tmp_path):
    SiteFactory(code="@S9", name="Site with an odd code")
    # Baseline arthritis (4) + rash (2) = 6 and PGA 1.50; Month 1 rash only = 2, PGA 1.00.
    visits = {
        "BL": VisitRow(date(2025, 2, 3), {"arthritis", "rash"}, "1.50"),
        "M1": VisitRow(date(2025, 3, 10), {"rash"}, "1.00"),
    }
    enrolled = ParticipantRow(
        "@S9", "F", 10, None, enrolled=date(2025, 1, 6), infused=date(2025, 2, 10), visits=visits
    )
    build_cohort(study, {"=1+2": enrolled})
    out = tmp_path / "responses.csv"
    stdout = StringIO()
    call_command("export_responses", "--out", str(out), stdout=stdout)
    assert f"Wrote 1 rows to {out}." in stdout.getvalue()
    header, row = list(csv.reader(StringIO(out.read_text(encoding="utf-8"))))
    assert header == list(RESPONSES_COLUMNS)
    cells = dict(zip(header, row, strict=True))
    # The command exports every site, unfiltered, as of today.
    today = timezone.localdate().isoformat()
    assert (cells["sites"], cells["filters"], cells["as_of"]) == ("all", "", today)
    assert (cells["participant_id"], cells["site"]) == ("'=1+2", "'@S9")
    # 2 - 6 = -4 (a drop of 4: SRI-4 responder); PGA 1.00 - 1.50 = -0.50.
    assert (cells["sledai2k"], cells["sledai2k_change"]) == ("2", "-4")
    assert (cells["pga"], cells["pga_change"]) == ("1.00", "-0.50")
    assert (cells["treatment_failure"], cells["sri4"], cells["sri5"]) == (
        "0",
        "responder",
        "non-responder",
    )


@pytest.mark.parametrize("endpoint", ["sri5", "bicla", "lldas", "doris"])
def test_export_cohort_writes_to_stdout_by_default(study, endpoint):
    stdout = StringIO()
    call_command("export_cohort", "--endpoint", endpoint, stdout=stdout)
    rows = list(csv.reader(StringIO(stdout.getvalue())))
    assert rows[0] == list(COHORT_COLUMNS)
    assert [row[0] for row in rows[1:]] == ["D0", "D7", "D14", "M1", "M2", "M3", "M6", "M9", "M12"]
    facts = [endpoint, "observed", "all", "", timezone.localdate().isoformat()]
    assert all(row[1:] == ["0", "0", "0", "", "", "", "0", *facts] for row in rows[1:])


def test_export_cohort_refuses_an_unknown_endpoint(study):
    with pytest.raises(CommandError, match="invalid choice: 'sri7'"):
        call_command("export_cohort", "--endpoint", "sri7", stdout=StringIO())


def test_the_export_columns_are_those_of_the_interchange_contract():
    # /work/shared/spec/interchange.md, responses.csv: the columns, then the later ones in
    # their order; cohort.csv: observed, then --population mitt. After the contract's columns,
    # unchanged and first, the facts of the file (docs/csv-formats.md), in this order.
    assert RESPONSES_COLUMNS == (
        "participant_id", "site", "visit", "visit_date", "study_day", "sledai2k",
        "sledai2k_change", "pga", "pga_change", "new_bilag_a", "new_bilag_b",
        "treatment_failure", "sri4", "sri5", "sri6", "sri4_reason",
        "bicla", "lldas", "doris", "in_window",
        "sites", "filters", "as_of",
    )  # fmt: skip
    assert COHORT_COLUMNS == (
        "visit", "reached", "evaluable", "responders", "rate", "ci_low", "ci_high",
        "out_of_window",
        "endpoint", "population", "sites", "filters", "as_of",
    )  # fmt: skip
    assert MITT_COLUMNS == (
        "visit", "denominator", "responders", "non_responders", "treatment_failure",
        "incomplete", "missing", "excluded", "pending", "rate", "ci_low", "ci_high",
        "endpoint", "population", "sites", "filters", "as_of",
    )  # fmt: skip


def export(*args: str) -> list[list[str]]:
    stdout = StringIO()
    call_command(*args, stdout=stdout)
    return list(csv.reader(StringIO(stdout.getvalue())))


def with_facts(rows: list[list[str]], *facts: str) -> list[list[str]]:
    """The header, then each row followed by the facts every row repeats."""
    return [rows[0], *([*row, *facts] for row in rows[1:])]


OBSERVED_FACTS = ("sri4", "observed", "all", "", "2024-06-30")
MITT_FACTS = ("sri4", "mitt", "all", "", "2024-06-30")


# The cohort is tests/responses/cohorts.py's ANALYSIS_COHORT, cut 2024-06-30. Hand counts.
#
# Who counts: enrolled on or before 2024-06-30, so not P09 (enrolled 2024-07-05). Visits dated
# on or before the cut, so not P08's Month 3 (2024-07-01).
#
# Observed (SRI-4), per visit code:
#   M1: P01 R, P02 NR (fall 2), P03 not evaluable (baseline 2 < 4, O4), P04 R (03-29, before
#       its failure 04-20), P05 R, P07 R (day 40, out of window 21..35, counted at M1),
#       P08 R -> reached 7, evaluable 6, responders 5, out of window 1.
#       5 of 6: 0.8333; exact 95% CI 0.3588-0.9958 (published 1 of 6 is 0.0042-0.6412, and
#       x of n mirrors n-x of n).
#   M3: P01 R, P04 NR (failure 04-20 before 05-30, O1), P06 not evaluable (in progress, O2)
#       -> reached 3, evaluable 2, responders 1: 0.5000, CI 1 - 0.975^(1/2) = 0.0126 to
#       0.975^(1/2) = 0.9874.
#   Every other visit: nobody.
OBSERVED_AS_OF_2024_06_30 = [
    list(COHORT_COLUMNS),
    ["D0", "0", "0", "0", "", "", "", "0"],
    ["D7", "0", "0", "0", "", "", "", "0"],
    ["D14", "0", "0", "0", "", "", "", "0"],
    ["M1", "7", "6", "5", "0.8333", "0.3588", "0.9958", "1"],
    ["M2", "0", "0", "0", "", "", "", "0"],
    ["M3", "3", "2", "1", "0.5000", "0.0126", "0.9874", "0"],
    ["M6", "0", "0", "0", "", "", "", "0"],
    ["M9", "0", "0", "0", "", "", "", "0"],
    ["M12", "0", "0", "0", "", "", "", "0"],
]

# mITT: infused on or before the cut: P01-P08 and P12 (06-30), P13 (06-29); ten. P03 is
# excluded everywhere (baseline 2 < 4). Last day of each window, infusion + window_high:
#   infused 2024-03-01 (P01-P06): D0 03-01, D7 03-10, D14 03-18, M1 04-05, M2 05-03,
#     M3 06-13, M6 09-11, M9 12-17, M12 2025-03-31;
#   P07 2024-04-10: D0 04-10, D7 04-19, D14 04-27, M1 05-15, M2 06-12, M3 07-23;
#   P08 2024-04-01: D0 04-01, D7 04-10, D14 04-18, M1 05-06, M2 06-03, M3 07-14;
#   P12 2024-06-30: D0 06-30 = the cut (pending), every later one after it;
#   P13 2024-06-29: D0 06-29, the day before the cut (missing), every later one after it.
# P04 failed 04-20 (after D14's 03-18, on or before M2's 05-03); P05 withdrew 05-10 (after M2's
# 05-03, on or before M3's 06-13); P08's failure 07-10 is after the cut and does not count.
#   D0: missing P01 P02 P04 P05 P06 P07 P08 P13 (8), pending P12 -> denominator 8, 0 responders;
#       CI 0 to 1 - 0.025^(1/8) = 0.3694.
#   D7, D14: missing P01 P02 P04 P05 P06 P07 P08 (7), pending P12 P13 -> 0 of 7;
#       CI 0 to 1 - 0.025^(1/7) = 0.4096.
#   M1: R P01 P04 P05 P07 P08, NR P02, missing P06, pending P12 P13 -> 5 of 7: 0.7143, CI
#       0.2904-0.9633 (published 2 of 7 is 0.0367-0.7096, mirrored).
#   M2: treatment failure P04; missing P01 P02 P05 P06 P07 P08; pending P12 P13 -> 0 of 7.
#   M3: R P01; treatment failure P04 (recorded, O1) and P05 (withdrew by 06-13); incomplete
#       P06; missing P02; pending P07 (07-23), P08 (07-14), P12, P13 -> 1 of 5: 0.2000, CI
#       0.0051-0.7164 (published).
#   M6, M9, M12: treatment failure P04 P05; pending the other seven -> 0 of 2; CI 0 to
#       1 - 0.025^(1/2) = 0.8419.
MITT_AS_OF_2024_06_30 = [
    list(MITT_COLUMNS),
    ["D0", "8", "0", "0", "0", "0", "8", "1", "1", "0.0000", "0.0000", "0.3694"],
    ["D7", "7", "0", "0", "0", "0", "7", "1", "2", "0.0000", "0.0000", "0.4096"],
    ["D14", "7", "0", "0", "0", "0", "7", "1", "2", "0.0000", "0.0000", "0.4096"],
    ["M1", "7", "5", "1", "0", "0", "1", "1", "2", "0.7143", "0.2904", "0.9633"],
    ["M2", "7", "0", "0", "1", "0", "6", "1", "2", "0.0000", "0.0000", "0.4096"],
    ["M3", "5", "1", "0", "2", "1", "1", "1", "4", "0.2000", "0.0051", "0.7164"],
    ["M6", "2", "0", "0", "2", "0", "0", "1", "7", "0.0000", "0.0000", "0.8419"],
    ["M9", "2", "0", "0", "2", "0", "0", "1", "7", "0.0000", "0.0000", "0.8419"],
    ["M12", "2", "0", "0", "2", "0", "0", "1", "7", "0.0000", "0.0000", "0.8419"],
]


def test_export_cohort_observed_as_of_the_cut_matches_the_hand_count(analysis_cohort):
    rows = export("export_cohort", "--as-of", "2024-06-30")
    assert rows == with_facts(OBSERVED_AS_OF_2024_06_30, *OBSERVED_FACTS)
    assert export("export_cohort", "--population", "observed", "--as-of", "2024-06-30") == rows


def test_export_cohort_mitt_as_of_the_cut_matches_the_hand_count(analysis_cohort):
    rows = export("export_cohort", "--population", "mitt", "--as-of", "2024-06-30")
    assert rows == with_facts(MITT_AS_OF_2024_06_30, *MITT_FACTS)


def test_export_cohort_writes_the_mitt_set_to_a_file(analysis_cohort, tmp_path):
    out = tmp_path / "cohort.csv"
    stdout = StringIO()
    call_command(
        "export_cohort", "--population", "mitt", "--as-of", "2024-06-30", "--out", str(out),
        stdout=stdout,
    )  # fmt: skip
    assert f"Wrote 9 rows to {out}." in stdout.getvalue()
    written = list(csv.reader(StringIO(out.read_text(encoding="utf-8"))))
    assert written == with_facts(MITT_AS_OF_2024_06_30, *MITT_FACTS)


def test_the_study_setting_leaves_out_of_window_visits_out_of_both_sets(study, analysis_cohort):
    Study.objects.filter(pk=study.pk).update(exclude_out_of_window_visits=True)
    observed = export("export_cohort", "--as-of", "2024-06-30")
    # P07's Month 1 (day 40) is left out: reached 6, evaluable 5, responders 4 (4 of 5: 0.8000,
    # published 0.2836-0.9949); the count of out-of-window visits still shows it.
    assert observed[4] == ["M1", "6", "5", "4", "0.8000", "0.2836", "0.9949", "1", *OBSERVED_FACTS]
    mitt = export("export_cohort", "--population", "mitt", "--as-of", "2024-06-30")
    # P07 at Month 1 is now not recorded; its window closed 05-15: missing. 4 of 7: 0.5714,
    # exact 0.1841-0.9010 (published).
    assert mitt[4][:12] == [
        "M1",
        "7",
        "4",
        "1",
        "0",
        "0",
        "2",
        "1",
        "2",
        "0.5714",
        "0.1841",
        "0.9010",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-02-30", 'The data cut "2024-02-30" is not a date'),
        ("30/06/2024", 'The data cut "30/06/2024" is not a date: write it YYYY-MM-DD'),
        ("2024-W26-7", 'The data cut "2024-W26-7" is not a date'),
        ("\uff12\uff10\uff12\uff14-06-30", "is not a date"),  # fullwidth digits
        ("", 'The data cut "" is not a date'),
        ("2999-01-01", "The data cut 2999-01-01 is after today"),
        ("1899-12-31", "The data cut 1899-12-31 is before 1900-01-01."),
    ],
)
@pytest.mark.parametrize("command", ["export_cohort", "export_responses"])
def test_a_bad_data_cut_is_refused_with_a_message(study, command, value, message):
    with pytest.raises(CommandError, match=message):
        call_command(command, "--as-of", value, stdout=StringIO())


def test_export_responses_as_of_the_cut_leaves_out_later_visits_and_enrolments(analysis_cohort):
    rows = export("export_responses", "--as-of", "2024-06-30")
    assert rows[0] == list(RESPONSES_COLUMNS)
    visits = [(row[0], row[2]) for row in rows[1:]]
    # Follow-up visits dated on or before the cut, by participant: P08's Month 3 (07-01) and
    # P09 (enrolled 07-05) are not there.
    assert visits == [
        ("P01", "M1"), ("P01", "M3"), ("P02", "M1"), ("P03", "M1"), ("P04", "M1"),
        ("P04", "M3"), ("P05", "M1"), ("P06", "M3"), ("P07", "M1"), ("P08", "M1"),
    ]  # fmt: skip
    everything = export("export_responses")
    assert ("P08", "M3") in [(row[0], row[2]) for row in everything]
    assert ("P09", "M1") in [(row[0], row[2]) for row in everything]


# The new endpoints on the same cohort and cut (clinical-rules.md section 5). Baseline SLEDAI-2K
# 8 (P03: 2), PGA 2.00, musculoskeletal B; a responding visit: low complement only (2, present
# at baseline), PGA 1.00, musculoskeletal D; a non-responding one adds arthritis (6). No
# medication: prednisolone-equivalent 0 mg/day.
#   BICLA: musculoskeletal B -> D improves, a total of 2 or 6 is not higher than 8 (P03: 0, not
#     higher than 2), PGA falls: every visit without treatment failure or missing answers is a
#     responder, P02's and P03's Month 1 included. Nobody is excluded (every baseline has a B).
#   LLDAS: a total of 2 (or 0, P03) with no major-organ descriptor and nothing new, PGA 1.00 <=
#     1.00: in LLDAS; P02's 6 > 4: not.
#   DORIS: PGA 1.00 is not below 0.50: nobody in remission.
# Observed (reached as for SRI-4: M1 7, M3 3):
#   M1: BICLA 7 of 7: 1.0000, exact 0.025^(1/7) = 0.5904 to 1; LLDAS 6 of 7 (not P02): 0.8571,
#       0.4213-0.9964 (1 of 7 is 0.0036-0.5787, mirrored); DORIS 0 of 7: 0 to 0.4096.
#   M3: P01 responder (BICLA, LLDAS), P04 non-responder (failure 04-20, O1), P06 in progress:
#       1 of 2, 0.0126-0.9874; DORIS 0 of 2: 0 to 1 - 0.025^(1/2) = 0.8419.
# mITT (as for SRI-4, but P03 is in every set):
#   M1: responders as observed with P03 (BICLA 7, LLDAS 6; P02 LLDAS and every DORIS visit a
#       non-responder), P06 missing (no Month 1, window closed 04-05), P12 P13 pending ->
#       denominator 8: BICLA 7 of 8 0.8750, 0.4735-0.9968 (1 of 8 is 0.0032-0.5265, mirrored);
#       LLDAS 6 of 8 0.7500, 0.3491-0.9681 (2 of 8 is 0.0319-0.6509); DORIS 0 of 8, 0 to
#       1 - 0.025^(1/8) = 0.3694.
#   M3: P01 responder (BICLA, LLDAS; a non-responder for DORIS), P04 and P05 treatment failure,
#       P06 incomplete, P02 and P03 missing (no Month 3, window closed 06-13), P07 P08 P12 P13
#       pending -> denominator 6: 1 of 6 0.1667, 0.0042-0.6412; DORIS 0 of 6, 0 to 0.4593.
NEW_ENDPOINTS_AS_OF_2024_06_30 = {
    "bicla": (
        ["M1", "7", "7", "7", "1.0000", "0.5904", "1.0000", "1"],
        ["M3", "3", "2", "1", "0.5000", "0.0126", "0.9874", "0"],
        ["M1", "8", "7", "0", "0", "0", "1", "0", "2", "0.8750", "0.4735", "0.9968"],
        ["M3", "6", "1", "0", "2", "1", "2", "0", "4", "0.1667", "0.0042", "0.6412"],
    ),
    "lldas": (
        ["M1", "7", "7", "6", "0.8571", "0.4213", "0.9964", "1"],
        ["M3", "3", "2", "1", "0.5000", "0.0126", "0.9874", "0"],
        ["M1", "8", "6", "1", "0", "0", "1", "0", "2", "0.7500", "0.3491", "0.9681"],
        ["M3", "6", "1", "0", "2", "1", "2", "0", "4", "0.1667", "0.0042", "0.6412"],
    ),
    "doris": (
        ["M1", "7", "7", "0", "0.0000", "0.0000", "0.4096", "1"],
        ["M3", "3", "2", "0", "0.0000", "0.0000", "0.8419", "0"],
        ["M1", "8", "0", "7", "0", "0", "1", "0", "2", "0.0000", "0.0000", "0.3694"],
        ["M3", "6", "0", "1", "2", "1", "2", "0", "4", "0.0000", "0.0000", "0.4593"],
    ),
}


@pytest.mark.parametrize("endpoint", ["bicla", "lldas", "doris"])
def test_export_cohort_of_the_new_endpoints_matches_the_hand_count(analysis_cohort, endpoint):
    observed_m1, observed_m3, mitt_m1, mitt_m3 = NEW_ENDPOINTS_AS_OF_2024_06_30[endpoint]
    observed = export("export_cohort", "--endpoint", endpoint, "--as-of", "2024-06-30")
    assert observed[0] == list(COHORT_COLUMNS)
    assert (observed[4][:8], observed[6][:8]) == (observed_m1, observed_m3)
    assert observed[4][8:] == [endpoint, "observed", "all", "", "2024-06-30"]
    mitt = export(
        "export_cohort", "--endpoint", endpoint, "--population", "mitt", "--as-of", "2024-06-30"
    )
    assert mitt[0] == list(MITT_COLUMNS)
    assert (mitt[4][:12], mitt[6][:12]) == (mitt_m1, mitt_m3)
    assert mitt[4][12:] == [endpoint, "mitt", "all", "", "2024-06-30"]
    # Nobody is excluded from these sets, at any visit.
    assert {row[7] for row in mitt[1:]} == {"0"}


def test_export_responses_writes_the_new_endpoints_and_the_window(analysis_cohort):
    # Outcomes by the hand count above; in_window: every visit on its target day but P07's
    # Month 1 (study day 40, window 21..35).
    rows = export("export_responses", "--as-of", "2024-06-30")
    assert rows[0][15:20] == ["sri4_reason", "bicla", "lldas", "doris", "in_window"]
    assert {tuple(row[20:]) for row in rows[1:]} == {("all", "", "2024-06-30")}
    assert [(row[0], row[2], *row[16:20]) for row in rows[1:]] == [
        ("P01", "M1", "responder", "responder", "non-responder", "1"),
        ("P01", "M3", "responder", "responder", "non-responder", "1"),
        ("P02", "M1", "responder", "non-responder", "non-responder", "1"),
        ("P03", "M1", "responder", "responder", "non-responder", "1"),
        ("P04", "M1", "responder", "responder", "non-responder", "1"),
        ("P04", "M3", "non-responder", "non-responder", "non-responder", "1"),
        ("P05", "M1", "responder", "responder", "non-responder", "1"),
        ("P06", "M3", "not evaluable", "not evaluable", "not evaluable", "1"),
        ("P07", "M1", "responder", "responder", "non-responder", "0"),
        ("P08", "M1", "responder", "responder", "non-responder", "1"),
    ]
