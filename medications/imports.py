"""Import medication courses from medications.csv (interchange.md), all or nothing.

The file is read, checked and applied as the visit import does it (trialsite.imports): every
cell's format first, then each row through medications.services in its own savepoint, inside one
transaction that is rolled back when any row has a problem or on a dry run. A course is keyed by
participant, drug (its generic name, safety.grading.drugs) and start date. Once every row is
applied, each participant with a course created or changed is rescored once
(``responses.services.participant_recompute_responses``), in the same transaction.

The import never records a treatment-failure date: a course of a drug prohibited after infusion
proposes one, which the report lists for the coordinator to confirm on the participant's page.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import cast

from django.contrib.auth.models import User
from django.utils.translation import gettext as _

from medications.models import (
    DOSE_DECIMAL_PLACES,
    DOSE_MAX_DIGITS,
    MedicationCourse,
    RouteChoice,
)
from medications.selectors import TreatmentFailureProposal
from medications.services import medication_course_save
from responses.services import participant_recompute_responses
from safety.grading.drugs import is_known_drug, normalise_drug
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

#: The columns of medications.csv; each but participant_id names the field it fills.
MEDICATION_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "drug",
    "daily_dose_mg",
    "route",
    "start_date",
    "stop_date",
)
#: The columns an --update may change: the others are the course's key.
CHANGEABLE_COLUMNS: tuple[str, ...] = ("daily_dose_mg", "route", "stop_date")
# [0-9], not \d: \d matches every Unicode digit. A number with at most three decimals, never an
# exponent, a sign or a decimal comma.
DOSE = re.compile(r"[0-9]+(\.[0-9]{1,3})?")
DOSE_MAX_WHOLE_DIGITS = DOSE_MAX_DIGITS - DOSE_DECIMAL_PLACES
DRUG_MAX_LENGTH = 100


@dataclass
class MedicationImportReport(ImportReport):
    """What the import did, and the treatment-failure dates its courses propose."""

    proposals: list[TreatmentFailureProposal] = field(default_factory=list)
    #: The rows whose drug is none of the named drugs of the rules (class "other"), with the drug.
    unknown_drugs: list[tuple[int, str]] = field(default_factory=list)


def parse_drug(cell: str) -> str:
    """Parse a drug: its generic name (a synonym is stored as the generic name)."""
    drug = normalise_drug(cell)
    if len(drug) > DRUG_MAX_LENGTH:
        raise CellError(_("a drug name has at most %(max)d characters.") % {"max": DRUG_MAX_LENGTH})
    return drug


def parse_dose(cell: str) -> Decimal:
    """Parse a daily dose in mg: more than 0, at most three decimals, e.g. 7.5 or 0.75."""
    require_ascii_digits(cell)
    if not DOSE.fullmatch(cell):
        raise CellError(_("the daily dose is written in mg with at most three decimals, e.g. 7.5."))
    value = Decimal(cell)
    if value <= 0:
        raise CellError(_("the daily dose is more than 0 mg."))
    if value >= Decimal(10) ** DOSE_MAX_WHOLE_DIGITS:
        raise CellError(
            _("the daily dose is less than %(max)s mg.")
            % {"max": Decimal(10) ** DOSE_MAX_WHOLE_DIGITS}
        )
    return value


def parse_route(cell: str) -> str:
    """Parse the route: oral, iv or other."""
    if cell not in RouteChoice.values:
        raise CellError(_("write one of %(values)s.") % {"values": ", ".join(RouteChoice.values)})
    return cell


@dataclass(frozen=True)
class CourseRow:
    """One course row whose cells all parsed: its key and the values it gives."""

    participant: Participant
    drug: str
    start_date: date
    #: The course's other values by field name (the column that gives each).
    values: Mapping[str, object]

    @property
    def label(self) -> str:
        return f"{self.participant.participant_id} {self.drug} {self.start_date.isoformat()}"


def parse_course_rows(
    rows: list[CsvRow], *, participants: Mapping[str, Participant], problems: list[Problem]
) -> list[tuple[CsvRow, CourseRow]]:
    """Check the format of every course row; return the rows without a problem."""
    parsed = []
    seen: dict[tuple[str, str, date], int] = {}
    for row in rows:
        cells = RowParser(row, problems)
        participant_id, participant = cells.participant(participants)
        drug = cells.cell("drug", required(parse_drug))
        values = {
            "daily_dose_mg": cells.cell("daily_dose_mg", required(parse_dose)),
            "route": cells.cell("route", required(parse_route)),
            "stop_date": cells.cell("stop_date", optional(parse_date)),
        }
        start_date = cells.cell("start_date", required(parse_date))
        stop_date = values["stop_date"]
        if isinstance(stop_date, date) and start_date is not None and stop_date < start_date:
            cells.fail("stop_date", _("the stop date is before the start date."))
        if participant_id is not None and drug is not None and start_date is not None:
            cells.once_in_file(
                seen,
                (participant_id, drug, start_date),
                "start_date",
                _(
                    "a course of this drug for this participant starting on this date is "
                    "already in row %(row)d of the file."
                ),
            )
        if cells.ok:
            # cells.ok: the participant was found and the drug and start date parsed.
            parsed.append(
                (
                    row,
                    CourseRow(
                        cast(Participant, participant),
                        cast(str, drug),
                        cast(date, start_date),
                        values,
                    ),
                )
            )
    return parsed


def _column_of(key: str) -> str:
    """Return the column of a field named in a service's ValidationError."""
    if key == "participant":
        return "participant_id"
    return key if key in MEDICATION_COLUMNS else ""


def import_medications(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
) -> MedicationImportReport:
    """Import medications.csv: record courses and, with ``update``, change existing ones; list
    the treatment-failure dates they propose without recording any."""
    check_importer(author)
    report = MedicationImportReport(file_name=file_name, dry_run=dry_run)
    reason = import_reason(file_name)
    rows = read_rows(text, MEDICATION_COLUMNS, report.problems)
    if rows is None:
        return report
    participants = participants_named(rows, study)
    parsed = parse_course_rows(rows, participants=participants, problems=report.problems)
    # The participants whose courses the file created or changed, rescored after every row.
    touched: dict[int, Participant] = {}

    def save(course: MedicationCourse) -> None:
        saved = medication_course_save(course=course, author=author, reason=reason, rescore=False)
        touched[saved.course.participant_id] = saved.course.participant
        if saved.proposal is not None:
            report.proposals.append(saved.proposal)

    def apply(row: CsvRow, values: CourseRow) -> None:
        if not is_known_drug(values.drug):
            report.unknown_drugs.append((row.number, values.drug))
        existing = MedicationCourse.objects.filter(
            participant=values.participant, drug=values.drug, start_date=values.start_date
        ).first()
        if existing is None:
            save(
                MedicationCourse(
                    participant=values.participant,
                    drug=values.drug,
                    start_date=values.start_date,
                    **values.values,
                )
            )
            report.created.append(values.label)
            return
        if not update:
            report.problems.append(
                Problem(
                    row.number,
                    "start_date",
                    row.cells["start_date"],
                    _(
                        "this participant already has a course of this drug starting on this "
                        "date (use --update to change it)."
                    ),
                )
            )
            return
        changed = tuple(
            column
            for column in CHANGEABLE_COLUMNS
            if getattr(existing, column) != values.values[column]
        )
        if not changed:
            report.unchanged.append(values.label)
            return
        for column in changed:
            setattr(existing, column, values.values[column])
        save(existing)
        report.changed.append(RowChange(row.number, values.label, changed))

    def apply_all() -> None:
        apply_rows(parsed, apply, _column_of, report.problems)
        if report.problems:
            return  # the whole file is rolled back: nothing to rescore
        for participant_pk in sorted(touched):
            participant_recompute_responses(participant=touched[participant_pk])

    run_import(
        report,
        apply_all,
        study=study,
        participant_ids=[participant.pk for participant in participants.values()],
    )
    if report.problems:
        report.proposals.clear()  # nothing was imported, so nothing is proposed
        report.unknown_drugs.clear()
    return report


def proposal_lines(report: MedicationImportReport) -> list[str]:
    """Describe the treatment-failure dates the imported courses propose, one line each, then
    the rows whose drug the site does not know."""
    lines = []
    for proposal in report.proposals:
        values = {
            "participant": proposal.course.participant.participant_id,
            "drug": proposal.course.drug,
            "date": proposal.failure_date.isoformat(),
        }
        if report.dry_run:
            line = _(
                "%(participant)s: %(drug)s from %(date)s, after the infusion, would propose "
                "%(date)s as the treatment failure date."
            )
        else:
            line = _(
                "%(participant)s: %(drug)s from %(date)s, after the infusion, proposes %(date)s "
                "as the treatment failure date: not recorded; confirm or dismiss it on the "
                "participant's page."
            )
        lines.append(line % values)
    lines.extend(
        _(
            "row %(row)d: %(drug)s is not one of the drugs the site knows (its class is other): "
            "check the spelling; a biologic the site does not know proposes no treatment failure."
        )
        % {"row": row, "drug": drug}
        for row, drug in report.unknown_drugs
    )
    return lines
