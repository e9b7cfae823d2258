"""The safety report's reads (safety.selectors): worst grades, counts by grade with percents of
the infused, episodes' onset day and duration, and the sentences, as of a data cut; every
expected value is counted by hand.

The helpers at the top record episodes of a chosen ASTCT grade through the safety services;
test_exports.py and test_report_views.py build their cohorts with them.
"""

from datetime import date
from decimal import Decimal

import pytest

from safety.models import CrsEpisode, IcansEpisode
from safety.selectors import (
    EpisodeKind,
    percent_of,
    safety_sentences,
    safety_summary,
)
from safety.services import crs_episode_save, icans_episode_save
from tests.factories import ParticipantRow, enrol
from trialsite.models import Participant

ENROLLED = date(2025, 1, 6)
INFUSED = date(2025, 3, 3)
CUT = date(2025, 3, 31)

#: CRS entries that give each ASTCT grade (clinical-rules.md section 6): no fever is grade 0;
#: with fever the worse of hypotension and oxygen; death of CRS is grade 5.
CRS_ENTRIES = {
    0: {"max_temp_c": Decimal("37.9")},
    1: {},
    2: {"hypotension": "no_vasopressor"},
    3: {"hypotension": "one_vasopressor"},
    4: {"oxygen": "positive_pressure"},
    5: {"died_of_crs": True},
}
#: ICANS entries (ICE, for a participant over 12 at onset) that give each grade: ICE 10 is
#: grade 0, 7-9 grade 1, 3-6 grade 2, 0-2 grade 3, unable to perform grade 4; death grade 5.
ICANS_ENTRIES = {
    0: {},
    1: {"tool_score": 8},
    2: {"tool_score": 5},
    3: {"tool_score": 1},
    4: {"tool_score": None, "unable_to_perform": True},
    5: {"died_of_icans": True},
}


def participant(
    study,
    participant_id: str,
    *,
    site: str = "S01",
    infused: date | None = INFUSED,
    enrolled: date = ENROLLED,
    dose: int | None = 100_000,
) -> Participant:
    """Enrol a 15-year-old (assessed with ICE) through the services."""
    row = ParticipantRow(site, "F", 15, dose, enrolled=enrolled, infused=infused)
    return enrol(study, participant_id, row)


def record_crs(
    person: Participant, onset: date, grade: int, resolution: date | None = None
) -> CrsEpisode:
    """Record a CRS episode whose entries give ``grade``, through the safety service."""
    entries = {
        "max_temp_c": Decimal("38.5"),
        "hypotension": "none",
        "oxygen": "none",
        **CRS_ENTRIES[grade],
    }
    episode = CrsEpisode(
        participant=person, onset_date=onset, resolution_date=resolution, **entries
    )
    saved = crs_episode_save(episode=episode, author=None, reason="test")
    assert saved.grade == grade
    return saved


def record_icans(
    person: Participant, onset: date, grade: int, resolution: date | None = None
) -> IcansEpisode:
    """Record an ICANS episode whose entries give ``grade``, through the safety service."""
    entries = {
        "tool": "ice",
        "tool_score": 10,
        "unable_to_perform": False,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "raised_icp": "none",
        **ICANS_ENTRIES[grade],
    }
    episode = IcansEpisode(
        participant=person, onset_date=onset, resolution_date=resolution, **entries
    )
    saved = icans_episode_save(episode=episode, author=None, reason="test")
    assert saved.grade == grade
    return saved


def eleven_infused(study) -> dict[str, Participant]:
    """Eleven infused children, hand counts in the tests below.

    CRS: P01-P09 one grade-1 episode; P10 a grade-1 then a grade-3 episode (worst 3); P11 none.
    ICANS: P02 and P05 one grade-2 episode each.
    """
    people = {f"P{n:02d}": participant(study, f"P{n:02d}") for n in range(1, 12)}
    for n in range(1, 10):
        record_crs(people[f"P{n:02d}"], date(2025, 3, 5), 1, date(2025, 3, 6))
    record_crs(people["P10"], date(2025, 3, 4), 1, date(2025, 3, 5))
    record_crs(people["P10"], date(2025, 3, 12), 3, date(2025, 3, 15))
    record_icans(people["P02"], date(2025, 3, 8), 2, date(2025, 3, 9))
    record_icans(people["P05"], date(2025, 3, 10), 2)
    return people


def counts(summary, kind: EpisodeKind) -> list[tuple[int, int, Decimal | None]]:
    return [(c.participants, c.infused, c.percent) for c in summary.counts_of(kind)]


def everyone():
    return Participant.objects.all()


# Percents


@pytest.mark.parametrize(
    ("part", "whole", "percent"),
    [
        pytest.param(9, 11, Decimal("81.8"), id="9-of-11-is-81.8"),
        pytest.param(1, 11, Decimal("9.1"), id="1-of-11-is-9.1"),
        pytest.param(2, 3, Decimal("66.7"), id="2-of-3-rounds-up"),
        pytest.param(1, 8, Decimal("12.5"), id="1-of-8-exact"),
        # 1/16 = 6.25%: halves round up, not to even.
        pytest.param(1, 16, Decimal("6.3"), id="1-of-16-half-rounds-up"),
        # 1/1600 = 0.0625%: rounded once from the exact value, not 0.06 then 0.1.
        pytest.param(1, 1600, Decimal("0.1"), id="1-of-1600-rounded-once"),
        pytest.param(11, 11, Decimal("100.0"), id="all"),
        pytest.param(0, 11, Decimal("0.0"), id="none"),
        pytest.param(0, 0, None, id="nobody-infused"),
    ],
)
def test_percent_of_the_infused_has_one_decimal_rounded_half_up(part, whole, percent):
    result = percent_of(part, whole)
    assert result == percent
    if result is not None:
        assert str(result) == str(percent)  # exactly one decimal, a Decimal


# Worst grades and counts


def test_nine_of_eleven_with_grade_1_crs_is_81_8_percent(study):
    eleven_infused(study)
    summary = safety_summary(participants=everyone(), as_of=CUT)
    assert summary.infused == 11
    # CRS worst: grade 0 P11; grade 1 P01-P09; grade 3 P10.
    assert counts(summary, EpisodeKind.CRS) == [
        (1, 11, Decimal("9.1")),
        (9, 11, Decimal("81.8")),
        (0, 11, Decimal("0.0")),
        (1, 11, Decimal("9.1")),
        (0, 11, Decimal("0.0")),
        (0, 11, Decimal("0.0")),
    ]
    # ICANS worst: grade 2 P02 and P05 (2 of 11 = 18.18%), grade 0 the other nine.
    assert counts(summary, EpisodeKind.ICANS) == [
        (9, 11, Decimal("81.8")),
        (0, 11, Decimal("0.0")),
        (2, 11, Decimal("18.2")),
        (0, 11, Decimal("0.0")),
        (0, 11, Decimal("0.0")),
        (0, 11, Decimal("0.0")),
    ]
    assert safety_sentences(summary) == [
        "Grade 1 CRS in 9 of 11 infused participants (81.8%)",
        "Grade 3 CRS in 1 of 11 infused participants (9.1%)",
        "Grade 2 ICANS in 2 of 11 infused participants (18.2%)",
    ]


def test_a_participant_with_episodes_graded_1_and_3_counts_once_at_3(study):
    person = participant(study, "P01")
    record_crs(person, date(2025, 3, 4), 1, date(2025, 3, 5))
    record_crs(person, date(2025, 3, 12), 3, date(2025, 3, 15))
    summary = safety_summary(participants=everyone(), as_of=CUT)
    (row,) = summary.participants
    assert (row.worst_crs, row.worst_icans) == (3, 0)
    assert [(c.max_grade, c.participants) for c in summary.counts_of(EpisodeKind.CRS)] == [
        (0, 0), (1, 0), (2, 0), (3, 1), (4, 0), (5, 0),
    ]  # fmt: skip
    assert [(e.kind, e.grade, e.onset_day) for e in row.episodes] == [
        (EpisodeKind.CRS, 1, 1),
        (EpisodeKind.CRS, 3, 9),
    ]


def test_a_grade_0_episode_is_no_crs(study):
    # A recorded episode without fever is graded 0: the participant's worst grade is 0.
    record_crs(participant(study, "P01"), date(2025, 3, 4), 0, date(2025, 3, 5))
    summary = safety_summary(participants=everyone(), as_of=CUT)
    assert summary.participants[0].worst_crs == 0
    assert summary.counts_of(EpisodeKind.CRS)[0].participants == 1
    assert safety_sentences(summary) == [
        "No CRS in 1 infused participant",
        "No ICANS in 1 infused participant",
    ]


def test_grade_5_is_counted_as_death(study):
    record_icans(participant(study, "P01"), date(2025, 3, 9), 5, date(2025, 3, 11))
    record_icans(participant(study, "P02"), date(2025, 3, 9), 4)
    summary = safety_summary(participants=everyone(), as_of=CUT)
    assert [c.participants for c in summary.counts_of(EpisodeKind.ICANS)] == [0, 0, 0, 0, 1, 1]
    assert safety_sentences(summary) == [
        "No CRS in 2 infused participants",
        "Grade 4 ICANS in 1 of 2 infused participants (50.0%)",
        "Grade 5 ICANS in 1 of 2 infused participants (50.0%)",
    ]


# The data cut


def data_cut_cohort(study) -> Participant:
    """One child infused 2025-03-03 with three episodes around the cut 2025-03-31."""
    person = participant(study, "P01")
    record_crs(person, date(2025, 3, 5), 2, date(2025, 3, 12))  # day 2, 8 days
    record_icans(person, date(2025, 3, 8), 1, date(2025, 4, 2))  # day 5, resolved after the cut
    record_crs(person, date(2025, 4, 10), 4, date(2025, 4, 20))  # after the cut
    return person


def test_the_data_cut_leaves_out_later_episodes_and_makes_a_later_resolution_ongoing(study):
    data_cut_cohort(study)
    (row,) = safety_summary(participants=everyone(), as_of=CUT).participants
    assert (row.worst_crs, row.worst_icans) == (2, 1)
    crs, icans = row.episodes
    # CRS 2025-03-05 to 03-12: onset day 5 - 3 = 2; duration 12 - 5 + 1 = 8 days.
    assert (crs.onset_day, crs.resolution_date, crs.duration_days, crs.ongoing) == (
        2,
        date(2025, 3, 12),
        8,
        False,
    )
    # ICANS resolved 2025-04-02, after the cut: ongoing as of the cut.
    assert (icans.onset_day, icans.resolution_date, icans.duration_days, icans.ongoing) == (
        5,
        None,
        None,
        True,
    )


def test_on_a_cut_before_the_resolution_the_episode_is_ongoing(study):
    data_cut_cohort(study)
    (row,) = safety_summary(participants=everyone(), as_of=date(2025, 3, 10)).participants
    assert [(e.kind, e.grade, e.ongoing) for e in row.episodes] == [
        (EpisodeKind.CRS, 2, True),
        (EpisodeKind.ICANS, 1, True),
    ]


def test_on_the_resolution_day_the_episode_is_resolved_with_both_days_counted(study):
    data_cut_cohort(study)
    (row,) = safety_summary(participants=everyone(), as_of=date(2025, 3, 12)).participants
    assert row.episodes[0].duration_days == 8
    assert row.episodes[0].resolution_date == date(2025, 3, 12)


def test_without_a_cut_in_the_past_every_episode_counts(study):
    data_cut_cohort(study)
    (row,) = safety_summary(participants=everyone(), as_of=date.today()).participants
    assert (row.worst_crs, row.worst_icans) == (4, 1)
    # CRS 04-10 to 04-20: 10 + 1 = 11 days. ICANS 03-08 to 04-02: 23 more days in March and 2
    # in April, 25 apart, both days counted: 26.
    assert [e.duration_days for e in row.episodes] == [8, 11, 26]


def test_participants_not_infused_by_the_cut_are_outside_the_denominator(study):
    infused = participant(study, "P01")
    record_crs(infused, date(2025, 3, 4), 2, date(2025, 3, 6))
    participant(study, "P02", infused=None)  # never infused
    later = participant(study, "P03", infused=date(2025, 4, 15))  # infused after the cut
    record_crs(later, date(2025, 4, 16), 3, date(2025, 4, 18))
    participant(study, "P04", enrolled=date(2025, 4, 1), infused=date(2025, 4, 20))
    summary = safety_summary(participants=everyone(), as_of=CUT)
    assert [row.participant_id for row in summary.participants] == ["P01"]
    # P02 and P03 were enrolled by the cut and are not infused by it; P04 was not enrolled.
    assert summary.not_infused == 2
    assert safety_sentences(summary) == [
        "Grade 2 CRS in 1 of 1 infused participant (100.0%)",
        "No ICANS in 1 infused participant",
    ]


def test_nobody_infused_gives_empty_percents_and_one_sentence(study):
    participant(study, "P01", infused=None)
    summary = safety_summary(participants=everyone(), as_of=CUT)
    assert summary.infused == 0
    assert [c.percent for c in summary.counts] == [None] * 12
    assert [c.participants for c in summary.counts] == [0] * 12
    assert safety_sentences(summary) == ["No participant was infused on or before the data cut."]


def test_the_participants_given_bound_the_summary(study):
    eleven_infused(study)
    summary = safety_summary(
        participants=Participant.objects.filter(participant_id__in=["P02", "P10", "P11"]),
        as_of=CUT,
    )
    # P02: CRS 1, ICANS 2; P10: CRS 3; P11: none.
    assert [(r.participant_id, r.worst_crs, r.worst_icans) for r in summary.participants] == [
        ("P02", 1, 2),
        ("P10", 3, 0),
        ("P11", 0, 0),
    ]
    assert safety_sentences(summary) == [
        "Grade 1 CRS in 1 of 3 infused participants (33.3%)",
        "Grade 3 CRS in 1 of 3 infused participants (33.3%)",
        "Grade 2 ICANS in 1 of 3 infused participants (33.3%)",
    ]


# Onset and duration


def test_onset_and_duration_are_summarised_over_episodes_graded_1_or_more(study):
    eleven_infused(study)
    crs, icans = safety_summary(participants=everyone(), as_of=CUT).timing
    # CRS: P01-P09 onset 03-05 (day 2) for 2 days; P10 03-04 (day 1) for 2 days and 03-12
    # (day 9) for 4 days. Eleven episodes: onset days nine 2s, a 1 and a 9 -> median 2.
    assert (crs.kind, crs.onset_day.n, crs.onset_day.median) == (EpisodeKind.CRS, 11, 2)
    assert (crs.onset_day.low, crs.onset_day.high) == (1, 9)
    assert (crs.duration_days.median, crs.duration_days.low, crs.duration_days.high) == (2, 2, 4)
    assert crs.ongoing == 0
    # ICANS: P02 day 5 for 2 days; P05 day 7, ongoing. Onset median (5 + 7) / 2 = 6.
    assert (icans.onset_day.n, icans.onset_day.median) == (2, Decimal(6))
    assert (icans.onset_day.low, icans.onset_day.high) == (5, 7)
    assert (icans.duration_days.n, icans.duration_days.median) == (1, Decimal(2))
    assert icans.ongoing == 1


def test_an_even_number_of_onsets_has_a_half_day_median_and_grade_0_is_left_out(study):
    first, second = participant(study, "P01"), participant(study, "P02")
    record_crs(first, date(2025, 3, 4), 1, date(2025, 3, 4))  # day 1, 1 day
    record_crs(second, date(2025, 3, 5), 2, date(2025, 3, 8))  # day 2, 4 days
    record_crs(second, date(2025, 3, 20), 0, date(2025, 3, 21))  # grade 0: no CRS
    (crs, icans) = safety_summary(participants=everyone(), as_of=CUT).timing
    assert (crs.onset_day.n, crs.onset_day.median) == (2, Decimal("1.5"))
    assert crs.duration_days.median == Decimal("2.5")
    assert (icans.onset_day.n, icans.onset_day.median, icans.duration_days.low) == (0, None, None)


# Queries


@pytest.mark.parametrize("size", [2, 12])
def test_the_summary_reads_with_three_queries_whatever_the_size(
    study, size, django_assert_num_queries
):
    for n in range(size):
        person = participant(study, f"P{n:02d}")
        record_crs(person, date(2025, 3, 5), n % 4, date(2025, 3, 7))
        record_icans(person, date(2025, 3, 6), n % 3)
    with django_assert_num_queries(3):
        summary = safety_summary(participants=everyone(), as_of=CUT)
        safety_sentences(summary)
    assert summary.infused == size
    assert len(summary.episodes) == 2 * size
