"""Write the safety files (interchange.md): safety.csv and safety_summary.csv, as of a data cut.

Both are written through trialsite.csvfiles.write_csv, which neutralises cells a spreadsheet
would run as a formula. Column names and cells are the contract's, in English whatever the
language of the site.
"""

from collections.abc import Iterable
from typing import TextIO

from safety.selectors import EpisodeRow, GradeCount
from trialsite.csvfiles import write_csv

SAFETY_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "site",
    "kind",
    "onset_date",
    "onset_day",
    "resolution_date",
    "duration_days",
    "grade",
)
SAFETY_SUMMARY_COLUMNS: tuple[str, ...] = (
    "kind",
    "max_grade",
    "participants",
    "infused",
    "percent",
)


def write_safety_csv(out: TextIO, episodes: Iterable[EpisodeRow]) -> None:
    """Write safety.csv: one row per CRS or ICANS episode with onset on or before the cut
    (resolution date and duration empty while ongoing on the cut)."""
    write_csv(
        out,
        SAFETY_COLUMNS,
        (
            (
                episode.participant_id,
                episode.site,
                episode.kind.value,
                episode.onset_date,
                episode.onset_day,
                episode.resolution_date,
                episode.duration_days,
                episode.grade,
            )
            for episode in episodes
        ),
    )


def write_safety_summary_csv(out: TextIO, counts: Iterable[GradeCount]) -> None:
    """Write safety_summary.csv: per kind (crs, then icans) and worst grade 0..5, the infused
    participants at that grade, the infused, and the percent with one decimal (empty when
    nobody is infused)."""
    write_csv(
        out,
        SAFETY_SUMMARY_COLUMNS,
        (
            (count.kind.value, count.max_grade, count.participants, count.infused, count.percent)
            for count in counts
        ),
    )
