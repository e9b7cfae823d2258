"""Import CRS and ICANS episodes from crs.csv and icans.csv, and adverse events from
adverse_events.csv (interchange.md), all or nothing.

The files are read, checked and applied as the visit import does it (trialsite.imports): every
cell's format first, then each row through safety.services in its own savepoint, inside one
transaction that is rolled back when any row has a problem or on a dry run. An episode is keyed
by participant and onset date. Each CSV column names the episode field it fills; the grade is
computed by the service from the entries, never imported. An adverse event is keyed by
participant, CTCAE term and start date (two events of different terms may start the same day).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, Protocol, TypeVar, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from safety.checks import astct_refusal, onset_errors
from safety.ctcae import astct_syndrome, is_ctcae_term, listed_spelling, needs_specification
from safety.grading.icans import CAPD_MAX_SCORE, ICE_MAX_SCORE, EncephalopathyTool
from safety.models import (
    AE_DEATH_GRADE,
    SERIOUSNESS_CRITERIA,
    TEMPERATURE_MAX_C,
    TEMPERATURE_MIN_C,
    AdverseEvent,
    AeAction,
    AeOutcome,
    ConsciousnessChoice,
    CrsEpisode,
    HypotensionChoice,
    IcansEpisode,
    MotorChoice,
    OxygenChoice,
    RaisedIcpChoice,
    Relatedness,
    SafetyEpisode,
    SeizureChoice,
    ToolChoice,
)
from safety.services import adverse_event_save, crs_episode_save, icans_episode_save
from trialsite.imports import (
    CellError,
    CsvRow,
    ImportReport,
    Problem,
    RowChange,
    RowParser,
    apply_rows,
    check_importer,
    import_reason,
    optional,
    parse_date,
    participants_named,
    read_rows,
    require_ascii_digits,
    required,
    run_import,
)
from trialsite.models import Participant, Study
from trialsite.services import Author

#: The columns of crs.csv; each but participant_id names the CrsEpisode field it fills.
CRS_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "onset_date",
    "resolution_date",
    "max_temp_c",
    "fever_masked",
    "hypotension",
    "oxygen",
    "tocilizumab",
    "corticosteroids",
    "died_of_crs",
)
#: The columns of icans.csv; each but participant_id names the IcansEpisode field it fills.
ICANS_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "onset_date",
    "resolution_date",
    "tool",
    "tool_score",
    "unable_to_perform",
    "consciousness",
    "seizure",
    "motor",
    "raised_icp",
    "died_of_icans",
)

FLAGS: dict[str, bool] = {"1": True, "0": False}
# [0-9], not \d: \d matches every Unicode digit. A whole number or one decimal, never an
# exponent or a decimal comma.
#: Two digits at most before the point: a longer number is out of range anyway (and too long
#: to quantize).
TEMPERATURE = re.compile(r"[0-9]{1,2}(\.[0-9])?")
SCORE = re.compile(r"[0-9]{1,2}")
TEMPERATURE_STEP = Decimal("0.1")
SCORE_MAX: dict[str, int] = {
    EncephalopathyTool.ICE.value: ICE_MAX_SCORE,
    EncephalopathyTool.CAPD.value: CAPD_MAX_SCORE,
}


# --------------------------------------------------------------------------------------------
# Cell parsers: each returns the value or raises CellError with a translated message
# --------------------------------------------------------------------------------------------


def parse_flag(cell: str) -> bool:
    """Parse a yes/no cell: 1 yes, 0 no."""
    if cell not in FLAGS:
        raise CellError(_("write 1 (yes) or 0 (no)."))
    return FLAGS[cell]


def choice_parser(choices: type[models.TextChoices]) -> Callable[[str], str]:
    """Return a parser of a cell that holds one of the values of ``choices``, exactly."""

    def parse(cell: str) -> str:
        if cell not in choices.values:
            raise CellError(_("write one of %(values)s.") % {"values": ", ".join(choices.values)})
        return cell

    return parse


def parse_temperature(cell: str) -> Decimal:
    """Parse the highest temperature: °C with at most one decimal, 30.0 to 45.0."""
    require_ascii_digits(cell)
    if not TEMPERATURE.fullmatch(cell):
        raise CellError(
            _("the highest temperature is written in °C with at most one decimal, e.g. 38.5.")
        )
    value = Decimal(cell).quantize(TEMPERATURE_STEP)
    if not TEMPERATURE_MIN_C <= value <= TEMPERATURE_MAX_C:
        raise CellError(
            _("the highest temperature is %(min)s to %(max)s °C.")
            % {"min": TEMPERATURE_MIN_C, "max": TEMPERATURE_MAX_C}
        )
    return value


def score_parser(tool: str | None) -> Callable[[str], int]:
    """Return a parser of an encephalopathy score: a whole number within the tool's range (ICE
    0-10, CAPD 0-32; the widest when the tool cell is itself wrong)."""

    def parse(cell: str) -> int:
        require_ascii_digits(cell)
        maximum = SCORE_MAX.get(tool or "", CAPD_MAX_SCORE)
        if not SCORE.fullmatch(cell) or int(cell) > maximum:
            if tool == EncephalopathyTool.ICE:
                raise CellError(_("the ICE score is a whole number from 0 to 10."))
            if tool == EncephalopathyTool.CAPD:
                raise CellError(_("the CAPD score is a whole number from 0 to 32."))
            raise CellError(_("the score is a whole number (ICE 0 to 10, CAPD 0 to 32)."))
        return int(cell)

    return parse


# --------------------------------------------------------------------------------------------
# Rows: the key (participant and onset date) and the entries of each kind of episode
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeRow:
    """One episode row whose cells all parsed: its key and the entries it gives."""

    participant: Participant
    onset_date: date
    #: The episode's entries by field name (the column that gives each).
    entries: Mapping[str, object]

    @property
    def label(self) -> str:
        return f"{self.participant.participant_id} {self.onset_date.isoformat()}"


def parse_crs_cells(cells: RowParser) -> dict[str, object]:
    """Parse the entries of a crs.csv row."""
    return {
        "resolution_date": cells.cell("resolution_date", optional(parse_date)),
        "max_temp_c": cells.cell("max_temp_c", required(parse_temperature)),
        "fever_masked": cells.cell("fever_masked", required(parse_flag)),
        "hypotension": cells.cell("hypotension", required(choice_parser(HypotensionChoice))),
        "oxygen": cells.cell("oxygen", required(choice_parser(OxygenChoice))),
        "tocilizumab": cells.cell("tocilizumab", required(parse_flag)),
        "corticosteroids": cells.cell("corticosteroids", required(parse_flag)),
        "died_of_crs": cells.cell("died_of_crs", required(parse_flag)),
    }


def parse_icans_cells(cells: RowParser) -> dict[str, object]:
    """Parse the entries of an icans.csv row: a score, or unable_to_perform 1 and no score."""
    resolution_date = cells.cell("resolution_date", optional(parse_date))
    tool = cells.cell("tool", required(choice_parser(ToolChoice)))
    unable_to_perform = cells.cell("unable_to_perform", required(parse_flag))
    score_cell = cells.row.cells["tool_score"]
    tool_score = None
    if unable_to_perform and score_cell:
        cells.fail("tool_score", _("leave the score empty when unable_to_perform is 1."))
    elif unable_to_perform is False and not score_cell:
        cells.fail(
            "tool_score",
            _(
                "a value is required, unless the assessment could not be performed "
                "(unable_to_perform 1)."
            ),
        )
    else:
        tool_score = cells.cell("tool_score", optional(score_parser(tool)))
    return {
        "resolution_date": resolution_date,
        "tool": tool,
        "tool_score": tool_score,
        "unable_to_perform": unable_to_perform,
        "consciousness": cells.cell("consciousness", required(choice_parser(ConsciousnessChoice))),
        "seizure": cells.cell("seizure", required(choice_parser(SeizureChoice))),
        "motor": cells.cell("motor", required(choice_parser(MotorChoice))),
        "raised_icp": cells.cell("raised_icp", required(choice_parser(RaisedIcpChoice))),
        "died_of_icans": cells.cell("died_of_icans", required(parse_flag)),
    }


def parse_episode_rows(
    rows: list[CsvRow],
    *,
    participants: Mapping[str, Participant],
    entries_of: Callable[[RowParser], dict[str, object]],
    problems: list[Problem],
) -> list[tuple[CsvRow, EpisodeRow]]:
    """Check the format of every episode row; return the rows without a problem."""
    parsed = []
    seen: dict[tuple[str, date], int] = {}
    for row in rows:
        cells = RowParser(row, problems)
        participant_id, participant = cells.participant(participants)
        onset_date = cells.cell("onset_date", required(parse_date))
        entries = entries_of(cells)
        resolution_date = entries["resolution_date"]
        if (
            isinstance(resolution_date, date)
            and onset_date is not None
            and resolution_date < onset_date
        ):
            cells.fail("resolution_date", _("the resolution date is before the onset date."))
        if participant_id is not None and onset_date is not None:
            cells.once_in_file(
                seen,
                (participant_id, onset_date),
                "onset_date",
                _(
                    "an episode of this participant with this onset date is already in row "
                    "%(row)d of the file."
                ),
            )
        if cells.ok:
            # cells.ok: the participant was found and the onset date parsed.
            parsed.append(
                (row, EpisodeRow(cast(Participant, participant), cast(date, onset_date), entries))
            )
    return parsed


# --------------------------------------------------------------------------------------------
# Applying the rows through the services
# --------------------------------------------------------------------------------------------

Episode = TypeVar("Episode", bound=SafetyEpisode)


class EpisodeSave(Protocol[Episode]):
    """The service that validates, grades and saves an episode with its audit entry."""

    def __call__(self, *, episode: Episode, author: Author, reason: str) -> Episode: ...


@dataclass(frozen=True)
class EpisodeFile(Generic[Episode]):
    """What the import of one kind of episode needs: its model, columns, parser and service."""

    model: type[Episode]
    columns: tuple[str, ...]
    entries_of: Callable[[RowParser], dict[str, object]]
    save: EpisodeSave[Episode]

    def column_of(self, key: str) -> str:
        """Return the column of a field named in a service's ValidationError."""
        if key == "participant":
            return "participant_id"
        return key if key in self.columns else ""


CRS_FILE = EpisodeFile(CrsEpisode, CRS_COLUMNS, parse_crs_cells, crs_episode_save)
ICANS_FILE = EpisodeFile(IcansEpisode, ICANS_COLUMNS, parse_icans_cells, icans_episode_save)


def _not_infused_on_participant(error: ValidationError, values: EpisodeRow) -> ValidationError:
    """Move the service's refusal of a participant without infusion date from the onset date to
    the participant: the participant is at fault, not the date."""
    if values.participant.infusion_date is not None or not hasattr(error, "error_dict"):
        return error
    refusal = onset_errors(values.participant, values.onset_date)["onset_date"]
    messages = error.message_dict
    if refusal not in messages.get("onset_date", []):
        return error
    messages["onset_date"].remove(refusal)
    if not messages["onset_date"]:
        del messages["onset_date"]
    messages.setdefault("participant", []).append(refusal)
    return ValidationError(messages)


def import_episodes(
    kind: EpisodeFile[Episode],
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import one kind of episode: create episodes and, with ``update``, change existing ones."""
    check_importer(author)
    report = ImportReport(file_name=file_name, dry_run=dry_run)
    reason = import_reason(file_name)
    rows = read_rows(text, kind.columns, report.problems)
    if rows is None:
        return report
    participants = participants_named(rows, study)
    parsed = parse_episode_rows(
        rows, participants=participants, entries_of=kind.entries_of, problems=report.problems
    )

    def save(episode: Episode, values: EpisodeRow) -> None:
        try:
            kind.save(episode=episode, author=author, reason=reason)
        except ValidationError as error:
            raise _not_infused_on_participant(error, values) from None

    def apply(row: CsvRow, values: EpisodeRow) -> None:
        existing = (
            kind.model._default_manager.filter(
                participant=values.participant, onset_date=values.onset_date
            )
            .select_related("participant")
            .first()
        )
        if existing is None:
            episode = kind.model(
                participant=values.participant, onset_date=values.onset_date, **values.entries
            )
            save(episode, values)
            report.created.append(values.label)
            return
        if not update:
            report.problems.append(
                Problem(
                    row.number,
                    "onset_date",
                    row.cells["onset_date"],
                    _(
                        "this participant already has an episode with this onset date (use "
                        "--update to change it)."
                    ),
                )
            )
            return
        changed = tuple(
            column for column, value in values.entries.items() if getattr(existing, column) != value
        )
        if not changed:
            report.unchanged.append(values.label)
            return
        for column in changed:
            setattr(existing, column, values.entries[column])
        save(existing, values)
        report.changed.append(RowChange(row.number, values.label, changed))

    return run_import(
        report,
        lambda: apply_rows(parsed, apply, kind.column_of, report.problems),
        study=study,
        participant_ids=[participant.pk for participant in participants.values()],
    )


def import_crs(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import crs.csv: record CRS episodes and, with ``update``, change existing ones."""
    return import_episodes(
        CRS_FILE,
        text,
        file_name=file_name,
        study=study,
        author=author,
        update=update,
        dry_run=dry_run,
    )


def import_icans(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import icans.csv: record ICANS episodes and, with ``update``, change existing ones."""
    return import_episodes(
        ICANS_FILE,
        text,
        file_name=file_name,
        study=study,
        author=author,
        update=update,
        dry_run=dry_run,
    )


# --------------------------------------------------------------------------------------------
# adverse_events.csv
# --------------------------------------------------------------------------------------------

#: The columns of adverse_events.csv; each but participant_id names the AdverseEvent field it
#: fills. The seriousness criteria and an "Other, specify" term's description have no column.
ADVERSE_EVENT_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "term",
    "grade",
    "start_date",
    "end_date",
    "serious",
    "related_cart",
    "related_ld",
    "action",
    "outcome",
)
AE_GRADE = re.compile(r"[1-5]")


def parse_ctcae_term(cell: str) -> str:
    """Parse a CTCAE v5.0 term of the list, spelt as CTCAE spells it; never CRS or ICANS, nor an
    "Other, specify" term (the file has no column for its description)."""
    syndrome = astct_syndrome(cell)
    if syndrome is not None:
        raise CellError(astct_refusal(syndrome))
    if not is_ctcae_term(cell):
        spelling = listed_spelling(cell)
        if spelling is not None:
            message = _('write the term as CTCAE spells it: "%(term)s".')
            raise CellError(message % {"term": spelling})
        raise CellError(_("not a CTCAE v5.0 term of the site's list (docs/csv-formats.md)."))
    if needs_specification(cell):
        raise CellError(
            _(
                'an "Other, specify" term needs its description, which this file has no column '
                "for: record this event on the participant's page."
            )
        )
    return cell


def parse_ae_grade(cell: str) -> int:
    """Parse a CTCAE grade: a whole number from 1 to 5."""
    require_ascii_digits(cell)
    if not AE_GRADE.fullmatch(cell):
        raise CellError(_("the CTCAE grade is a whole number from 1 to 5."))
    return int(cell)


@dataclass(frozen=True)
class AdverseEventRow:
    """One adverse event row whose cells all parsed: its key and the entries it gives."""

    participant: Participant
    term: str
    start_date: date
    #: The event's entries by field name (the column that gives each), the key's included.
    entries: Mapping[str, object]

    @property
    def label(self) -> str:
        return f"{self.participant.participant_id} {self.term} {self.start_date.isoformat()}"


def parse_adverse_event_rows(
    rows: list[CsvRow], *, participants: Mapping[str, Participant], problems: list[Problem]
) -> list[tuple[CsvRow, AdverseEventRow]]:
    """Check the format of every adverse event row; return the rows without a problem."""
    parsed = []
    seen: dict[tuple[str, str, date], int] = {}
    for row in rows:
        cells = RowParser(row, problems)
        participant_id, participant = cells.participant(participants)
        term = cells.cell("term", required(parse_ctcae_term))
        start_date = cells.cell("start_date", required(parse_date))
        entries: dict[str, object] = {
            "grade": cells.cell("grade", required(parse_ae_grade)),
            "end_date": cells.cell("end_date", optional(parse_date)),
            "serious": cells.cell("serious", required(parse_flag)),
            "related_cart": cells.cell("related_cart", required(choice_parser(Relatedness))),
            "related_ld": cells.cell("related_ld", required(choice_parser(Relatedness))),
            "action": cells.cell("action", required(choice_parser(AeAction))),
            "outcome": cells.cell("outcome", required(choice_parser(AeOutcome))),
        }
        end_date = entries["end_date"]
        if isinstance(end_date, date) and start_date is not None and end_date < start_date:
            cells.fail("end_date", _("the end date is before the start date."))
        if participant_id is not None and term is not None and start_date is not None:
            cells.once_in_file(
                seen,
                (participant_id, term, start_date),
                "start_date",
                _(
                    "an adverse event of this participant with this term and start date is "
                    "already in row %(row)d of the file."
                ),
            )
        if cells.ok:
            # cells.ok: the participant was found, the term and the start date parsed.
            parsed.append(
                (
                    row,
                    AdverseEventRow(
                        cast(Participant, participant),
                        cast(str, term),
                        cast(date, start_date),
                        entries,
                    ),
                )
            )
    return parsed


def _adverse_event_column(key: str) -> str:
    """Return the column of a field named in the service's ValidationError."""
    if key == "participant":
        return "participant_id"
    if key in SERIOUSNESS_CRITERIA:
        return "grade" if key == "results_in_death" else "serious"
    if key == "term_specify":
        return "term"
    return key if key in ADVERSE_EVENT_COLUMNS else ""


def import_adverse_events(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import adverse_events.csv: record adverse events and, with ``update``, change existing
    ones (the same participant, term and start date).

    A serious event is imported without its criteria (the file has no column for them; the
    event's page says "criteria not recorded"). A row that makes an event not serious clears
    the criteria recorded on the site; one that keeps it serious keeps them.
    """
    check_importer(author)
    report = ImportReport(file_name=file_name, dry_run=dry_run)
    reason = import_reason(file_name)
    rows = read_rows(text, ADVERSE_EVENT_COLUMNS, report.problems)
    if rows is None:
        return report
    participants = participants_named(rows, study)
    parsed = parse_adverse_event_rows(rows, participants=participants, problems=report.problems)

    def apply(row: CsvRow, values: AdverseEventRow) -> None:
        existing = (
            AdverseEvent.objects.filter(
                participant=values.participant,
                term=values.term,
                term_specify="",
                start_date=values.start_date,
            )
            .select_related("participant")
            .first()
        )
        if existing is None:
            event = AdverseEvent(
                participant=values.participant,
                term=values.term,
                start_date=values.start_date,
                **values.entries,
            )
            adverse_event_save(event=event, author=author, reason=reason)
            report.created.append(values.label)
            return
        if not update:
            report.problems.append(
                Problem(
                    row.number,
                    "start_date",
                    row.cells["start_date"],
                    _(
                        "this participant already has an adverse event with this term and start "
                        "date (use --update to change it)."
                    ),
                )
            )
            return
        changed = tuple(
            column for column, value in values.entries.items() if getattr(existing, column) != value
        )
        if not changed:
            report.unchanged.append(values.label)
            return
        for column in changed:
            setattr(existing, column, values.entries[column])
        if not existing.serious:
            for criterion in SERIOUSNESS_CRITERIA:
                setattr(existing, criterion, False)
        elif existing.grade != AE_DEATH_GRADE:
            existing.results_in_death = False
        adverse_event_save(event=existing, author=author, reason=reason)
        report.changed.append(RowChange(row.number, values.label, changed))

    return run_import(
        report,
        lambda: apply_rows(parsed, apply, _adverse_event_column, report.problems),
        study=study,
        participant_ids=[participant.pk for participant in participants.values()],
    )
