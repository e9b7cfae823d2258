"""Import participants and visits from CSV files (interchange.md), all or nothing.

Each import reads the whole file first and checks the format of every row, then applies the rows
in file order through trialsite.services inside one transaction, one savepoint per row, so a
service's ValidationError is recorded against its row and the run goes on to find further
problems. If any row has a problem, or on a dry run, the whole transaction is rolled back.
Scores and endpoints are recomputed by the services, never here.

The reading, cell parsing and row applying helpers are shared with the other imports (the
safety episodes of safety.imports).
"""

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEMS
from responses.scoring.pga import validate_pga
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import recompute_once_per_participant
from trialsite import services
from trialsite.i18n import StrOrPromise
from trialsite.locks import lock_participants, lock_study
from trialsite.management.options import InputError
from trialsite.models import (
    AGE_MAX,
    AGE_MIN,
    ANSWERS,
    IMMUNE_LAB_FIELDS,
    NOT_DONE,
    STORED_LAB_FIELDS,
    LabResult,
    Participant,
    Site,
    Study,
    Visit,
    VisitDefinition,
)
from trialsite.selectors import not_done_reasons
from trialsite.validators import (
    validate_ascii_digits,
    validate_single_line_text,
    validate_trial_date,
)

PARTICIPANT_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "site",
    "sex",
    "age_at_enrollment",
    "enrollment_date",
    "infusion_date",
    "dose_cells_per_kg",
    "treatment_failure_date",
    "withdrawal_date",
)
SLEDAI_COLUMNS: dict[str, str] = {f"sledai_{name}": name for name in SLEDAI_FIELDS}
BILAG_COLUMNS: dict[str, str] = {f"bilag_{system}": system for system in BILAG_SYSTEMS}
VISIT_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "visit",
    "visit_date",
    "pga",
    *SLEDAI_COLUMNS,
    *BILAG_COLUMNS,
)
#: The lab columns of visits.csv, each named as the LabResult field it fills: the B cells and
#: immunoglobulins (the labs that suggest SLEDAI-2K descriptors are entered on the site).
LAB_COLUMNS: tuple[str, ...] = IMMUNE_LAB_FIELDS
#: Columns a visits.csv may leave out of its header. An empty cell means the same for the
#: look-back window (the study's setting); an empty lab cell is a lab not done, while a lab
#: column left out of the header leaves the stored value as it is.
VISIT_OPTIONAL_COLUMNS: tuple[str, ...] = ("sledai_lookback_days", *LAB_COLUMNS)

#: Participant fields an import sets, other than the study and the participant ID: each column
#: names the field it fills.
PARTICIPANT_FIELDS: tuple[str, ...] = PARTICIPANT_COLUMNS[1:]

# [0-9], not \d: \d matches every Unicode digit.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WHOLE_NUMBER = re.compile(r"[0-9]+")
#: A lab value: digits and at most one decimal point; never a sign, an exponent or a separator.
LAB_VALUE = re.compile(r"[0-9]{1,9}(\.[0-9]+)?")
#: The largest value every supported database holds in a PositiveIntegerField.
DOSE_MAX = 2_147_483_647
SLEDAI_CELLS: dict[str, bool | None] = {"1": True, "0": False, "": None}
#: A lab value fits LabResult's columns: at most two decimals, below a million.
LAB_VALUE_QUANTUM = Decimal("0.01")
LAB_VALUE_MAX = Decimal("999999.99")


# --------------------------------------------------------------------------------------------
# Problems and reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem in an import file, at a spreadsheet row (header = row 1) and column."""

    row: int
    column: str
    value: str | None
    message: str

    def __str__(self) -> str:
        if self.column and self.value is not None:
            return _('row %(row)d, column %(column)s, value "%(value)s": %(message)s') % {
                "row": self.row,
                "column": self.column,
                "value": self.value,
                "message": self.message,
            }
        if self.column:
            return _("row %(row)d, column %(column)s: %(message)s") % {
                "row": self.row,
                "column": self.column,
                "message": self.message,
            }
        return _("row %(row)d: %(message)s") % {"row": self.row, "message": self.message}


@dataclass(frozen=True)
class RowChange:
    """An existing row the import changed, with the columns that changed."""

    row: int
    label: str
    columns: tuple[str, ...]


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or with problems, would have done)."""

    file_name: str
    dry_run: bool
    created: list[str] = field(default_factory=list)
    changed: list[RowChange] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    sites_created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Say whether the import's changes were kept in the database."""
        return not self.dry_run and not self.problems


# --------------------------------------------------------------------------------------------
# Options of the import commands (--study and InputError: trialsite.management.options)
# --------------------------------------------------------------------------------------------


#: The right to import (the Data manager role; superusers have every right).
IMPORT_PERMISSION = "trialsite.import_data"


def find_author(username: str | None) -> User:
    """Return the user named by --user, the author of the audit entries.

    The user must be active and allowed to import (``check_importer``).
    """
    if username is None:
        raise InputError(
            _(
                "Name the user who imports with --user USERNAME: the audit trail records the "
                "author of every change."
            )
        )
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise InputError(_('There is no user "%(username)s".') % {"username": username})
    check_importer(user)
    return user


def check_importer(user: User) -> None:
    """Refuse an inactive user, or one whose role may not import (e.g. a monitor)."""
    values = {"username": user.get_username()}
    if not user.is_active:
        raise InputError(_('The user "%(username)s" is inactive and cannot import.') % values)
    if not user.has_perm(IMPORT_PERMISSION):
        raise InputError(
            _('The user "%(username)s" may not import data; data managers may.') % values
        )


def read_import_file(path: str) -> tuple[str, str]:
    """Return the text of an import file (UTF-8, with or without BOM) and its file name."""
    file_name = Path(path).name
    try:
        return Path(path).read_text(encoding="utf-8-sig"), file_name
    except OSError as error:
        raise InputError(
            _("Cannot read %(file)s: %(error)s") % {"file": path, "error": error.strerror}
        ) from error
    except UnicodeDecodeError as error:
        raise InputError(
            _("%(file)s is not UTF-8 text (byte %(position)d); save it as CSV UTF-8.")
            % {"file": path, "position": error.start + 1}
        ) from error


#: The reason of an answer not done that an import marks (ND): the file gives none. The audit
#: reason ("imported from <file name>") names the file.
IMPORTED_NOT_DONE_REASON = "ND in an imported file"


def import_reason(file_name: str) -> str:
    """Return the audit reason of every change an import makes."""
    return f"imported from {file_name}"


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRow:
    """One data row: its spreadsheet row number and its cells keyed by column name."""

    number: int
    cells: Mapping[str, str]


def read_rows(
    text: str,
    expected_columns: tuple[str, ...],
    problems: list[Problem],
    optional_columns: tuple[str, ...] = (),
) -> list[CsvRow] | None:
    """Parse the CSV text; return its data rows, or None if the header is unusable.

    The header must hold exactly the expected columns, in any order, and may hold the optional
    ones. Surrounding spaces in cells are ignored; blank lines are skipped but still counted, as
    a spreadsheet numbers them.
    """
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        problems.append(
            Problem(1, "", None, _("The file is not valid CSV: %(error)s") % {"error": error})
        )
        return None
    if not records or not any(cell.strip() for cell in records[0]):
        problems.append(
            Problem(1, "", None, _("The file is empty; the first row must be the header."))
        )
        return None
    header = [cell.strip() for cell in records[0]]
    header_problems = []
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        refusal = control_character_refusal(name)
        if refusal is not None:
            header_problems.append(
                Problem(
                    1,
                    "",
                    None,
                    _("column %(index)d of the header: %(message)s")
                    % {"index": index, "message": refusal},
                )
            )
        elif not name:
            header_problems.append(
                Problem(1, "", None, _("a column of the header has no name (an extra comma?)."))
            )
        elif name not in expected_columns and name not in optional_columns:
            header_problems.append(Problem(1, name, None, _("unknown column.")))
        elif name in seen:
            header_problems.append(Problem(1, name, None, _("the column appears more than once.")))
        seen.add(name)
    header_problems.extend(
        Problem(1, name, None, _("required column missing from the header."))
        for name in expected_columns
        if name not in seen
    )
    if header_problems:
        problems.extend(header_problems)
        return None

    rows = []
    for number, record in enumerate(records[1:], start=2):
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if len(cells) != len(header):
            problems.append(
                Problem(
                    number,
                    "",
                    None,
                    _("the row has %(cells)d cells; the header has %(columns)d.")
                    % {"cells": len(cells), "columns": len(header)},
                )
            )
            continue
        refused = [
            Problem(number, column, None, refusal)
            for column, cell in zip(header, cells, strict=True)
            if (refusal := control_character_refusal(cell)) is not None
        ]
        if refused:
            problems.extend(refused)
            continue
        rows.append(CsvRow(number, dict(zip(header, cells, strict=True))))
    return rows


def control_character_refusal(cell: str) -> str | None:
    """Return why a cell is refused for holding a control character, or None if it holds none.

    Every cell is single-line text. Its value is left out of the problem, which names the
    character's code point instead of printing it.
    """
    try:
        validate_single_line_text(cell)
    except ValidationError as error:
        return error.messages[0]
    return None


# --------------------------------------------------------------------------------------------
# Cell parsers: each returns the value or raises CellError with a translated message
# --------------------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell whose value the import cannot use."""


T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def require_ascii_digits(cell: str) -> None:
    """Refuse a cell whose number or date is written with digits other than 0-9."""
    try:
        validate_ascii_digits(cell)
    except ValidationError as error:
        raise CellError(error.messages[0]) from None


def parse_date(cell: str) -> date:
    """Parse a strict ISO date (YYYY-MM-DD) from 1900-01-01 to today.

    The date rule is the model fields' (validate_trial_date); checking it here too lists the
    problem with the row's other format problems instead of only once the row is applied.
    """
    require_ascii_digits(cell)
    if not ISO_DATE.fullmatch(cell):
        raise CellError(_("a date must be written YYYY-MM-DD."))
    try:
        value = date.fromisoformat(cell)
    except ValueError as error:
        raise CellError(_("this date does not exist.")) from error
    try:
        validate_trial_date(value)
    except ValidationError as error:
        raise CellError(error.messages[0]) from None
    return value


def parse_required(cell: str, parse: Callable[[str], T]) -> T:
    """Parse a required cell."""
    if cell == "":
        raise CellError(_("a value is required."))
    return parse(cell)


def parse_optional(cell: str, parse: Callable[[str], T]) -> T | None:
    """Parse an optional cell; empty means None."""
    if cell == "":
        return None
    return parse(cell)


def parse_sex(cell: str) -> str:
    """Parse the sex: F or M."""
    if cell not in Participant.Sex.values:
        raise CellError(_("sex is F or M."))
    return cell


def parse_age(cell: str) -> int:
    """Parse the age at enrolment: whole years 0..21."""
    require_ascii_digits(cell)
    if not WHOLE_NUMBER.fullmatch(cell) or not AGE_MIN <= int(cell) <= AGE_MAX:
        raise CellError(
            _("the age at enrolment is a whole number of years from %(min)d to %(max)d.")
            % {"min": AGE_MIN, "max": AGE_MAX}
        )
    return int(cell)


def parse_dose(cell: str) -> int:
    """Parse a dose in CAR+ cells/kg, e.g. 100000 or 1e5: a positive whole number."""
    require_ascii_digits(cell)
    try:
        value = Decimal(cell)
    except InvalidOperation as error:
        raise CellError(_("the dose is a number of cells per kg, e.g. 100000 or 1e5.")) from error
    if not value.is_finite() or value <= 0 or value != value.to_integral_value():
        raise CellError(_("the dose is a positive whole number of cells per kg."))
    if value > DOSE_MAX:
        raise CellError(_("the dose is too large."))
    return int(value)


def parse_pga(cell: str) -> Decimal:
    """Parse a PGA: a number from 0.00 to 3.00 with at most two decimals."""
    message = _("PGA is a number from 0.00 to 3.00 with at most two decimals, ND or empty.")
    require_ascii_digits(cell)
    try:
        return validate_pga(Decimal(cell))
    except (InvalidOperation, ValueError) as error:
        raise CellError(message) from error


def parse_sledai(cell: str) -> bool | None:
    """Parse a SLEDAI-2K answer: 1 present, 0 absent, empty not entered yet."""
    if cell not in SLEDAI_CELLS:
        raise CellError(_("a SLEDAI-2K answer is 1 (present), 0 (absent), ND (not done) or empty."))
    return SLEDAI_CELLS[cell]


def parse_bilag(cell: str) -> str | None:
    """Parse a BILAG-2004 grade: A to E, empty not entered yet."""
    if cell == "":
        return None
    if cell not in BILAG_GRADES:
        raise CellError(_("a BILAG-2004 grade is A, B, C, D, E, ND (not done) or empty."))
    return cell


def parse_lookback_days(cell: str) -> int:
    """Parse a SLEDAI-2K look-back window: 10 or 30 days."""
    if cell not in ("10", "30"):
        raise CellError(_("the SLEDAI-2K look-back window is 10 or 30 (days), or empty."))
    return int(cell)


def parse_lab_value(cell: str) -> Decimal:
    """Parse a lab value (CD19+ B cells per µL, an immunoglobulin in g/L): a number from 0 to
    999999.99 with at most two decimals, written with the digits 0-9 and a decimal point."""
    require_ascii_digits(cell)
    if cell.startswith("-") and LAB_VALUE.fullmatch(cell[1:]):
        raise CellError(_("a lab value cannot be negative."))
    if not LAB_VALUE.fullmatch(cell):
        raise CellError(
            _(
                "a lab value is a number written with the digits 0-9 and a decimal point, e.g. "
                "250 or 0.5; leave the cell empty when it was not done (ND is for answers only)."
            )
        )
    value = Decimal(cell)
    if value > LAB_VALUE_MAX:
        raise CellError(_("a lab value is at most 999999.99."))
    if value != value.quantize(LAB_VALUE_QUANTUM):
        raise CellError(_("a lab value has at most two decimals."))
    return value


def answer_parser(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    """Read an answer cell: ND (not done) and empty give None, other cells are parsed."""
    return lambda cell: None if cell == NOT_DONE else parse(cell)


def participants_named(rows: list[CsvRow], study: Study) -> dict[str, Participant]:
    """Return the study's participants that the rows' participant_id cells name, by ID (one
    query; an unknown ID is left out, for RowParser.participant to report)."""
    ids = {row.cells.get("participant_id", "") for row in rows}
    return {
        participant.participant_id: participant
        for participant in Participant.objects.filter(
            study=study, participant_id__in=ids
        ).select_related("study")
    }


class RowParser:
    """Parse the cells of one row, collecting a Problem for each bad cell."""

    def __init__(self, row: CsvRow, problems: list[Problem]) -> None:
        self.row = row
        self.problems = problems
        self.ok = True

    def cell(self, column: str, parse: Callable[[str], T]) -> T | None:
        value = self.row.cells.get(column, "")  # an optional column left out is empty
        try:
            return parse(value)
        except CellError as error:
            self.fail(column, str(error))
            return None

    def fail(self, column: str, message: str) -> None:
        self.problems.append(
            Problem(self.row.number, column, self.row.cells.get(column, ""), message)
        )
        self.ok = False

    def once_in_file(self, seen: dict[K, int], key: K, column: str, message: StrOrPromise) -> None:
        """Refuse the row, on ``column``, when an earlier row of the file has the same key;
        ``message`` names that row with %(row)d."""
        if key in seen:
            self.fail(column, message % {"row": seen[key]})
        else:
            seen[key] = self.row.number

    def participant(
        self, participants: Mapping[str, Participant]
    ) -> tuple[str | None, Participant | None]:
        """Read the participant_id cell; return it and the study's participant it names (None,
        failing the cell, when the study has none)."""
        participant_id = self.cell("participant_id", required(_text))
        participant = participants.get(participant_id) if participant_id is not None else None
        if participant_id is not None and participant is None:
            self.fail("participant_id", _("there is no participant with this ID in the study."))
        return participant_id, participant


def required(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Return a parser of a required cell (see parse_required)."""
    return lambda cell: parse_required(cell, parse)


def optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    """Return a parser of an optional cell, empty meaning None (see parse_optional)."""
    return lambda cell: parse_optional(cell, parse)


def _text(cell: str) -> str:
    return cell


# --------------------------------------------------------------------------------------------
# Applying rows: savepoint per row, service errors mapped to columns
# --------------------------------------------------------------------------------------------


def _validation_problems(
    error: ValidationError, row: CsvRow, column_of: Callable[[str], str]
) -> list[Problem]:
    """Turn a service's ValidationError into problems, keyed by CSV column where possible."""
    if not hasattr(error, "error_dict"):
        return [Problem(row.number, "", None, message) for message in error.messages]
    problems: list[Problem] = []
    for key, errors in error.message_dict.items():
        column = "" if key == NON_FIELD_ERRORS else column_of(key)
        value = row.cells.get(column) if column else None
        problems.extend(Problem(row.number, column, value, message) for message in errors)
    return problems


#: Told as rows are applied: (rows applied so far, rows to apply). A browser import shows it.
Progress = Callable[[int, int], None]


def apply_rows(
    rows: list[tuple[CsvRow, T]],
    apply: Callable[[CsvRow, T], None],
    column_of: Callable[[str], str],
    problems: list[Problem],
    progress: Progress | None = None,
) -> None:
    """Apply each row in its own savepoint; record a service's refusal against the row."""
    for done, (row, parsed) in enumerate(rows, start=1):
        try:
            with transaction.atomic():
                apply(row, parsed)
        except ValidationError as error:
            problems.extend(_validation_problems(error, row, column_of))
        except DatabaseError as error:
            problems.append(
                Problem(
                    row.number,
                    "",
                    None,
                    _("the database refused the row: %(error)s") % {"error": error},
                )
            )
        if progress is not None:
            progress(done, len(rows))


@transaction.atomic
def run_import(
    report: ImportReport,
    apply_all: Callable[[], None],
    *,
    study: Study,
    participant_ids: Iterable[int],
) -> ImportReport:
    """Apply every row in one transaction; roll it all back if any row has a problem or on a
    dry run."""
    # Take every lock the import needs up front, in the site's lock order (trialsite.locks), so
    # an import never waits for a lock while holding another that a concurrent write wants.
    lock_study(study.pk)
    lock_participants(participant_ids)
    with recompute_once_per_participant():
        apply_all()
    if report.problems or report.dry_run:
        transaction.set_rollback(True)
    elif len(report.created) >= REFRESH_STATISTICS_AFTER:
        # After the commit, outside the import's transaction and locks; a failure is logged and
        # leaves the import committed.
        transaction.on_commit(refresh_statistics, robust=True)
    return report


#: An import that records this many rows refreshes the database's statistics once committed.
REFRESH_STATISTICS_AFTER = 1000


def refresh_statistics() -> None:
    """Bring PostgreSQL's statistics up to date after a bulk load, as autovacuum would about a
    minute later. Until then the pages' reads are planned for the tables as they were: after
    24,000 imported visits, each of Home's reads of the audit trail took 40 ms instead of 0.5.
    ANALYZE samples a bounded number of rows per table (about a second at 2,000 participants)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


# --------------------------------------------------------------------------------------------
# participants.csv
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantRow:
    participant_id: str
    site: str
    sex: str
    age_at_enrollment: int
    enrollment_date: date
    infusion_date: date | None
    dose_cells_per_kg: int | None
    treatment_failure_date: date | None
    withdrawal_date: date | None


def parse_participant_rows(
    rows: list[CsvRow], *, known_sites: set[str], create_sites: bool, problems: list[Problem]
) -> list[tuple[CsvRow, ParticipantRow]]:
    """Check the format of every participant row; return the rows without a problem."""
    parsed = []
    seen: dict[str, int] = {}
    for row in rows:
        cells = RowParser(row, problems)
        participant_id = cells.cell("participant_id", required(_text))
        site = cells.cell("site", required(_text))
        if site is not None and not create_sites and site not in known_sites:
            cells.fail("site", _("unknown site code (use --create-sites to create it)."))
        sex = cells.cell("sex", required(parse_sex))
        age_at_enrollment = cells.cell("age_at_enrollment", required(parse_age))
        enrollment_date = cells.cell("enrollment_date", required(parse_date))
        infusion_date = cells.cell("infusion_date", optional(parse_date))
        dose_cells_per_kg = cells.cell("dose_cells_per_kg", optional(parse_dose))
        treatment_failure_date = cells.cell("treatment_failure_date", optional(parse_date))
        withdrawal_date = cells.cell("withdrawal_date", optional(parse_date))
        if participant_id is not None:
            cells.once_in_file(
                seen,
                participant_id,
                "participant_id",
                _("this participant is already in row %(row)d of the file."),
            )
        if cells.ok:
            # cells.ok: every required cell was parsed, so none of the casts' values is None.
            parsed.append(
                (
                    row,
                    ParticipantRow(
                        participant_id=cast(str, participant_id),
                        site=cast(str, site),
                        sex=cast(str, sex),
                        age_at_enrollment=cast(int, age_at_enrollment),
                        enrollment_date=cast(date, enrollment_date),
                        infusion_date=infusion_date,
                        dose_cells_per_kg=dose_cells_per_kg,
                        treatment_failure_date=treatment_failure_date,
                        withdrawal_date=withdrawal_date,
                    ),
                )
            )
    return parsed


def _participant_column(key: str) -> str:
    if key in PARTICIPANT_COLUMNS:
        return key
    if key == "code":  # a site created with --create-sites
        return "site"
    if key == "not_infused_reason":  # set on the site; an infusion date in the file contradicts it
        return "infusion_date"
    return ""


def import_participants(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    create_sites: bool = False,
    update: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import participants.csv: create participants and, with ``update``, change existing ones."""
    check_importer(author)
    report = ImportReport(file_name=file_name, dry_run=dry_run)
    reason = import_reason(file_name)
    rows = read_rows(text, PARTICIPANT_COLUMNS, report.problems)
    if rows is None:
        return report
    known_sites = set(Site.objects.values_list("code", flat=True))
    parsed = parse_participant_rows(
        rows, known_sites=known_sites, create_sites=create_sites, problems=report.problems
    )

    def site_for(code: str) -> Site:
        site = Site.objects.filter(code=code).first()
        if site is None:
            site = Site(code=code, name_en=code)
            services.save_with_audit(site, author=author, reason=reason)
            report.sites_created.append(code)
        return site

    def apply(row: CsvRow, values: ParticipantRow) -> None:
        existing = Participant.objects.filter(
            study=study, participant_id=values.participant_id
        ).first()
        if existing is not None and not update:
            report.problems.append(
                Problem(
                    row.number,
                    "participant_id",
                    values.participant_id,
                    _("this participant already exists (use --update to change it)."),
                )
            )
            return
        sites_before = len(report.sites_created)
        try:
            site = site_for(values.site)
            if existing is None:
                services.participant_create(
                    study=study,
                    participant_id=values.participant_id,
                    site=site,
                    **{
                        name: getattr(values, name) for name in PARTICIPANT_FIELDS if name != "site"
                    },
                    author=author,
                    reason=reason,
                )
                report.created.append(values.participant_id)
                return
            changed = _set_changed_fields(existing, values, site)
            if not changed:
                report.unchanged.append(values.participant_id)
                return
            services.participant_save(participant=existing, author=author, reason=reason)
            report.changed.append(RowChange(row.number, values.participant_id, changed))
        except (ValidationError, DatabaseError):
            # The row's savepoint rolls back the site created for it.
            del report.sites_created[sites_before:]
            raise

    return run_import(
        report,
        lambda: apply_rows(parsed, apply, _participant_column, report.problems, progress),
        study=study,
        participant_ids=Participant.objects.filter(
            study=study, participant_id__in=[values.participant_id for _row, values in parsed]
        ).values_list("pk", flat=True),
    )


def _set_changed_fields(
    participant: Participant, values: ParticipantRow, site: Site
) -> tuple[str, ...]:
    """Set the fields the row changes on the participant; return their column names."""
    changed = []
    if participant.site_id != site.pk:
        participant.site = site
        changed.append("site")
    for name in PARTICIPANT_FIELDS:
        if name == "site":
            continue
        new = getattr(values, name)
        if getattr(participant, name) != new:
            setattr(participant, name, new)
            changed.append(name)
    return tuple(changed)


# --------------------------------------------------------------------------------------------
# visits.csv
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRow:
    participant: Participant
    definition: VisitDefinition
    visit_date: date
    pga: Decimal | None
    sledai: dict[str, bool | None]
    bilag: dict[str, str | None]
    #: The answers written ND (their columns are named as ANSWERS names them).
    not_done: frozenset[str]
    lookback_days: int | None
    #: The lab columns of the file's header, each with its value (None: not done); a lab column
    #: left out of the header is not here, and its stored value is kept.
    labs: dict[str, Decimal | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        label = f"{self.participant.participant_id} {self.definition.code}"
        if self.definition.repeatable:
            label = f"{label} {self.visit_date.isoformat()}"
        return label


def parse_visit_rows(
    rows: list[CsvRow],
    *,
    participants: Mapping[str, Participant],
    definitions: Mapping[str, VisitDefinition],
    problems: list[Problem],
) -> list[tuple[CsvRow, VisitRow]]:
    """Check the format of every visit row; return the rows without a problem."""
    parsed = []
    seen: dict[tuple, int] = {}
    for row in rows:
        cells = RowParser(row, problems)
        participant_id, participant = cells.participant(participants)
        code = cells.cell("visit", required(_text))
        definition = definitions.get(code) if code is not None else None
        if code is not None and definition is None:
            cells.fail(
                "visit",
                _("not a visit code of the study's schedule (%(codes)s).")
                % {"codes": ", ".join(definitions)},
            )
        visit_date = cells.cell("visit_date", required(parse_date))
        pga = cells.cell("pga", answer_parser(optional(parse_pga)))
        sledai = {
            name: cells.cell(column, answer_parser(parse_sledai))
            for column, name in SLEDAI_COLUMNS.items()
        }
        bilag = {
            name: cells.cell(column, answer_parser(parse_bilag))
            for column, name in BILAG_COLUMNS.items()
        }
        not_done = frozenset(answer for answer in ANSWERS if row.cells[answer] == NOT_DONE)
        lookback_days = cells.cell("sledai_lookback_days", optional(parse_lookback_days))
        labs = {
            column: cells.cell(column, optional(parse_lab_value))
            for column in LAB_COLUMNS
            if column in row.cells
        }
        if participant is not None and definition is not None and visit_date is not None:
            key = (participant_id, code, visit_date if definition.repeatable else None)
            cells.once_in_file(
                seen, key, "visit", _("this visit is already in row %(row)d of the file.")
            )
        if cells.ok:
            # cells.ok: the participant, the visit and its date were all found and parsed (a
            # missing one fails its cell), so none of the casts' values is None.
            parsed.append(
                (
                    row,
                    VisitRow(
                        cast(Participant, participant),
                        cast(VisitDefinition, definition),
                        cast(date, visit_date),
                        pga,
                        sledai,
                        bilag,
                        not_done,
                        lookback_days,
                        labs,
                    ),
                )
            )
    return parsed


def _visit_column(key: str) -> str:
    if key in ("visit_definition", "occurrence"):
        return "visit"
    if key == "participant":
        return "participant_id"
    if key in ("visit_date", *ANSWERS):
        return key
    if key == "score":
        return "pga"
    if key == "lookback_days":
        return "sledai_lookback_days"
    if key in SLEDAI_FIELDS:
        return f"sledai_{key}"
    if key in BILAG_SYSTEMS:
        return f"bilag_{key}"
    if key in LAB_COLUMNS:
        return key
    return ""


def _find_visit(values: VisitRow) -> Visit | None:
    """Return the stored visit the row describes (an unscheduled visit is keyed by its date)."""
    visits = Visit.objects.filter(
        participant=values.participant, visit_definition=values.definition
    ).select_related("participant__study", "visit_definition", "sledai", "pga", "bilag", "labs")
    visits = visits.prefetch_related("not_done_answers")
    if values.definition.repeatable:
        visits = visits.filter(visit_date=values.visit_date)
    return visits.first()


def _changed_assessment_columns(visit: Visit, values: VisitRow) -> list[str]:
    """Return the assessment columns whose stored value (or ND) differs from the row."""
    sledai = getattr(visit, "sledai", None)
    pga = getattr(visit, "pga", None)
    bilag = getattr(visit, "bilag", None)
    stored = services.answer_values(
        sledai.answers() if sledai is not None else {},
        pga.score if pga is not None else None,
        bilag.grades() if bilag is not None else {},
    )
    given = services.answer_values(values.sledai, values.pga, values.bilag)
    stored_not_done = not_done_reasons(visit)
    changed = [
        answer
        for answer in ANSWERS
        if stored[answer] != given[answer]
        or (answer in stored_not_done) != (answer in values.not_done)
    ]
    stored_lookback = sledai.lookback_days if sledai is not None else None
    if values.lookback_days is not None and values.lookback_days != stored_lookback:
        changed.append("sledai_lookback_days")
    stored_labs = getattr(visit, "labs", None)
    changed.extend(
        column
        for column, value in values.labs.items()
        if (getattr(stored_labs, column) if stored_labs is not None else None) != value
    )
    return changed


def _labs_to_save(visit: Visit, values: VisitRow) -> dict[str, object] | None:
    """Return the labs to store for the row: the visit's stored labs with the row's lab columns
    written over them; None (the stored labs kept as they are) when the file has no lab column."""
    if not values.labs:
        return None
    stored = LabResult.objects.filter(visit=visit).first()
    labs: dict[str, object] = (
        {name: getattr(stored, name) for name in STORED_LAB_FIELDS} if stored is not None else {}
    )
    labs.update(values.labs)
    return labs


def import_visits(
    text: str,
    *,
    file_name: str,
    study: Study,
    author: User,
    update: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import visits.csv: record visits with their assessments; with ``update``, change them."""
    check_importer(author)
    report = ImportReport(file_name=file_name, dry_run=dry_run)
    rows = read_rows(text, VISIT_COLUMNS, report.problems, VISIT_OPTIONAL_COLUMNS)
    if rows is None:
        return report
    participants = participants_named(rows, study)
    definitions = {definition.code: definition for definition in study.visit_definitions.all()}
    visits_import = _VisitsImport(
        report=report,
        parsed=parse_visit_rows(
            rows, participants=participants, definitions=definitions, problems=report.problems
        ),
        participants=list(participants.values()),
        author=author,
        reason=import_reason(file_name),
        update=update,
        progress=progress,
    )
    return run_import(
        report,
        visits_import.apply_all,
        study=study,
        participant_ids=[participant.pk for participant in participants.values()],
    )


@dataclass
class _VisitsImport:
    """The writes of one visits.csv import, run by ``run_import`` inside its transaction: each
    parsed row recorded or changed, with what it did in the report."""

    report: ImportReport
    parsed: list[tuple[CsvRow, VisitRow]]
    participants: list[Participant]
    author: User
    reason: str
    update: bool
    progress: Progress | None

    def apply_all(self) -> None:
        """Participants whose rows all record new visits are recorded in batches; one with a
        visit already recorded goes row by row (a change, or the refusal without --update)."""
        recorded = _recorded_visit_keys(self.participants)
        problems = self.report.problems
        first_problem = len(problems)
        batch: list[list[tuple[CsvRow, VisitRow]]] = []
        done = 0
        for rows in _rows_by_participant(self.parsed).values():
            if any(_visit_key(values) in recorded for _row, values in rows):
                apply_rows(rows, self.apply, _visit_column, problems)
                done += len(rows)
                self.tell(done)
                continue
            batch.append(rows)
            if len(batch) == PARTICIPANTS_PER_BATCH:
                self.record_new_visits(batch)
                done += sum(len(rows) for rows in batch)
                batch = []
                self.tell(done)
        if batch:
            self.record_new_visits(batch)
            self.tell(len(self.parsed))
        # Problems by row, as the file reads.
        problems[first_problem:] = sorted(problems[first_problem:], key=lambda problem: problem.row)

    def tell(self, rows_done: int) -> None:
        if self.progress is not None:
            self.progress(rows_done, len(self.parsed))

    def record_new_visits(self, batch: list[list[tuple[CsvRow, VisitRow]]]) -> None:
        """Record the new visits of a batch of participants, in one call of the service."""
        try:
            refusals = services.visits_record_new(
                new_visits={
                    rows[0][1].participant: [_new_visit(values) for _row, values in rows]
                    for rows in batch
                },
                author=self.author,
                reason=self.reason,
            )
        except DatabaseError as error:
            first_row = min(rows[0][0].number for rows in batch)
            refused = _("the database refused the visits: %(error)s") % {"error": error}
            self.report.problems.append(Problem(first_row, "", None, refused))
            return
        for rows in batch:
            found = refusals[rows[0][1].participant.pk]
            for (row, values), refusal in zip(rows, found, strict=True):
                if refusal is None:
                    self.report.created.append(values.label)
                else:
                    self.report.problems.extend(_validation_problems(refusal, row, _visit_column))

    def apply(self, row: CsvRow, values: VisitRow) -> None:
        """Record one row's visit, or change the recorded one (with --update)."""
        existing = _find_visit(values)
        if existing is None:
            visit = services.visit_create(
                participant=values.participant,
                visit_definition=values.definition,
                visit_date=values.visit_date,
                author=self.author,
                reason=self.reason,
            )
            self.save_assessments(visit, values, values.lookback_days)
            self.report.created.append(values.label)
            return
        if not self.update:
            self.report.problems.append(
                Problem(
                    row.number,
                    "visit",
                    row.cells["visit"],
                    _("this visit already exists (use --update to change it)."),
                )
            )
            return
        changed = []
        if existing.visit_date != values.visit_date:
            existing.visit_date = values.visit_date
            services.visit_save(visit=existing, author=self.author, reason=self.reason)
            changed.append("visit_date")
        assessment_columns = _changed_assessment_columns(existing, values)
        if assessment_columns:
            # Without a look-back window in the row, keep the one the visit was scored with.
            sledai = getattr(existing, "sledai", None)
            lookback_days = values.lookback_days
            if lookback_days is None and sledai is not None:
                lookback_days = sledai.lookback_days
            self.save_assessments(existing, values, lookback_days)
            changed.extend(assessment_columns)
        if changed:
            self.report.changed.append(RowChange(row.number, values.label, tuple(changed)))
        else:
            self.report.unchanged.append(values.label)

    def save_assessments(self, visit: Visit, values: VisitRow, lookback_days: int | None) -> None:
        # An answer already recorded as not done keeps the reason given for it.
        stored_not_done = not_done_reasons(visit)
        services.visit_save_assessments(
            visit=visit,
            sledai=values.sledai,
            sledai_lookback_days=lookback_days,
            pga=values.pga,
            bilag=values.bilag,
            not_done={
                answer: stored_not_done.get(answer, IMPORTED_NOT_DONE_REASON)
                for answer in values.not_done
            },
            labs=_labs_to_save(visit, values),
            author=self.author,
            reason=self.reason,
        )


#: Participants whose new visits are checked and written together (bounds an import's memory).
PARTICIPANTS_PER_BATCH = 200


def _new_visit(values: VisitRow) -> services.NewVisit:
    """Return a row's new visit as the services take it (an answer ND gets the import's reason)."""
    return services.NewVisit(
        visit_definition=values.definition,
        visit_date=values.visit_date,
        sledai=values.sledai,
        sledai_lookback_days=values.lookback_days,
        pga=values.pga,
        bilag=values.bilag,
        not_done=dict.fromkeys(values.not_done, IMPORTED_NOT_DONE_REASON),
        labs=dict(values.labs) if values.labs else None,
    )


def _visit_key(values: VisitRow) -> tuple[int, int, date | None]:
    """Key a row's visit as _find_visit finds it: an unscheduled visit by its date too."""
    visit_date = values.visit_date if values.definition.repeatable else None
    return values.participant.pk, values.definition.pk, visit_date


def _recorded_visit_keys(participants: Iterable[Participant]) -> set[tuple[int, int, date | None]]:
    """Key every recorded visit of these participants as _visit_key keys a row."""
    keys: set[tuple[int, int, date | None]] = set()
    recorded = Visit.objects.filter(participant__in=list(participants)).values_list(
        "participant_id", "visit_definition_id", "visit_date", "visit_definition__repeatable"
    )
    for participant_id, definition_id, visit_date, repeatable in recorded:
        keys.add((participant_id, definition_id, visit_date if repeatable else None))
    return keys


def _rows_by_participant(
    rows: list[tuple[CsvRow, VisitRow]],
) -> dict[int, list[tuple[CsvRow, VisitRow]]]:
    """Group the rows by participant, in the order of each participant's first row."""
    grouped: dict[int, list[tuple[CsvRow, VisitRow]]] = {}
    for row, values in rows:
        grouped.setdefault(values.participant.pk, []).append((row, values))
    return grouped


def problem_summary(report: ImportReport) -> str:
    """Say how many problems the file has and that nothing was written."""
    count = len(report.problems)
    return ngettext(
        "%(count)d problem in %(file)s; nothing was imported.",
        "%(count)d problems in %(file)s; nothing was imported.",
        count,
    ) % {"count": count, "file": report.file_name}


def summary_lines(report: ImportReport) -> Iterator[str]:
    """Describe what the import did (or would do), one line each, for the command's output."""
    for change in report.changed:
        values = {
            "row": change.row,
            "label": change.label,
            "columns": ", ".join(change.columns),
        }
        if report.dry_run:
            yield _("row %(row)d: %(label)s would be changed (%(columns)s)") % values
        else:
            yield _("row %(row)d: %(label)s changed (%(columns)s)") % values
    if report.sites_created:
        codes = {"codes": ", ".join(report.sites_created)}
        if report.dry_run:
            yield _("Sites that would be created: %(codes)s") % codes
        else:
            yield _("Sites created: %(codes)s") % codes
    counts = {
        "file": report.file_name,
        "created": len(report.created),
        "changed": len(report.changed),
        "unchanged": len(report.unchanged),
    }
    if report.dry_run:
        yield (
            _(
                "Dry run of %(file)s, nothing was written: %(created)d would be created, "
                "%(changed)d would be changed, %(unchanged)d unchanged."
            )
            % counts
        )
    else:
        yield (
            _(
                "Imported %(file)s: %(created)d created, %(changed)d changed, "
                "%(unchanged)d unchanged."
            )
            % counts
        )
