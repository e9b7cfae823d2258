"""Drug classes of clinical-rules.md section 6b and the drugs the protocol prohibits after infusion.

A drug is named by its generic name. ``normalise_drug`` gives the one spelling the site stores:
trimmed, inner spaces collapsed, lower case, and a synonym mapped to its generic name
("Mycophenolate Mofetil" and "mycophenolic acid" are mycophenolate, "cyclosporine" is
ciclosporin). A name outside the tables is kept as typed (normalised) and has no class.

A course of a drug prohibited after infusion (biologics, and cyclophosphamide, which after
infusion is never the lymphodepletion: that belongs to the treatment record) proposes a
treatment-failure date: the first day after the infusion day (Day 1 on) that the course was
active. The coordinator confirms it; nothing here sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum

from safety.grading.steroids import PREDNISOLONE_EQUIVALENCE, MedicationCourse, course_active_on


class DrugClass(StrEnum):
    """Name the class of a drug (clinical-rules.md section 6b)."""

    #: Counted by its prednisolone-equivalent dose, never as an immunosuppressant.
    GLUCOCORTICOID = "glucocorticoid"
    #: Allowed for LLDAS and DORIS at a stable dose.
    MAINTENANCE_IMMUNOSUPPRESSANT = "maintenance_immunosuppressant"
    OTHER_IMMUNOSUPPRESSANT = "other_immunosuppressant"
    #: B-cell or interferon-directed biologics: prohibited after infusion.
    BIOLOGIC = "biologic"
    #: Treatment of CRS or ICANS: not counted as an immunosuppressant or a biologic.
    CRS_ICANS_TREATMENT = "crs_icans_treatment"
    IMMUNOGLOBULIN_REPLACEMENT = "immunoglobulin_replacement"
    #: A drug outside the lists of section 6b.
    OTHER = "other"


MAINTENANCE_IMMUNOSUPPRESSANTS = frozenset(
    {"hydroxychloroquine", "mycophenolate", "azathioprine", "methotrexate", "tacrolimus"}
    | {"ciclosporin"}
)
OTHER_IMMUNOSUPPRESSANTS = frozenset({"cyclophosphamide", "voclosporin"})
#: B-cell directed (anti-CD20, anti-CD19, anti-BAFF/APRIL) and interferon-directed biologics.
BIOLOGICS = frozenset(
    {
        "rituximab",
        "obinutuzumab",
        "ocrelizumab",
        "ofatumumab",
        "inebilizumab",
        "belimumab",
        "telitacicept",
        "atacicept",
        "ianalumab",
        "anifrolumab",
        "epratuzumab",
        "tabalumab",
        "blisibimod",
        "sifalimumab",
    }
)
CRS_ICANS_TREATMENTS = frozenset({"tocilizumab", "siltuximab", "anakinra"})
IMMUNOGLOBULIN_REPLACEMENTS = frozenset({"immunoglobulin"})

#: Every known generic name and its class.
DRUG_CLASSES: dict[str, DrugClass] = {
    **dict.fromkeys(PREDNISOLONE_EQUIVALENCE, DrugClass.GLUCOCORTICOID),
    **dict.fromkeys(MAINTENANCE_IMMUNOSUPPRESSANTS, DrugClass.MAINTENANCE_IMMUNOSUPPRESSANT),
    **dict.fromkeys(OTHER_IMMUNOSUPPRESSANTS, DrugClass.OTHER_IMMUNOSUPPRESSANT),
    **dict.fromkeys(BIOLOGICS, DrugClass.BIOLOGIC),
    **dict.fromkeys(CRS_ICANS_TREATMENTS, DrugClass.CRS_ICANS_TREATMENT),
    **dict.fromkeys(IMMUNOGLOBULIN_REPLACEMENTS, DrugClass.IMMUNOGLOBULIN_REPLACEMENT),
}

#: Other names of a drug (salts, spellings, brand names, the usual abbreviations of
#: immunoglobulin), each mapped to the generic name the site stores. Glucocorticoid salts matter
#: most: an intravenous pulse is usually written with its salt, and a name the table lacks would
#: count as no glucocorticoid at all.
SYNONYMS: dict[str, str] = {
    "methylprednisolone sodium succinate": "methylprednisolone",
    "methylprednisolone hemisuccinate": "methylprednisolone",
    "methylprednisolone acetate": "methylprednisolone",
    "solu-medrol": "methylprednisolone",
    "medrol": "methylprednisolone",
    "hydrocortisone sodium succinate": "hydrocortisone",
    "hydrocortisone sodium phosphate": "hydrocortisone",
    "solu-cortef": "hydrocortisone",
    "dexamethasone sodium phosphate": "dexamethasone",
    "dexamethasone phosphate": "dexamethasone",
    "prednisolone sodium phosphate": "prednisolone",
    "prednisolone acetate": "prednisolone",
    "betamethasone sodium phosphate": "betamethasone",
    "mabthera": "rituximab",
    "rituxan": "rituximab",
    "gazyva": "obinutuzumab",
    "gazyvaro": "obinutuzumab",
    "ocrevus": "ocrelizumab",
    "kesimpta": "ofatumumab",
    "arzerra": "ofatumumab",
    "uplizna": "inebilizumab",
    "benlysta": "belimumab",
    "saphnelo": "anifrolumab",
    "actemra": "tocilizumab",
    "roactemra": "tocilizumab",
    "mycophenolate mofetil": "mycophenolate",
    "mycophenolate sodium": "mycophenolate",
    "mycophenolic acid": "mycophenolate",
    "cyclosporine": "ciclosporin",
    "cyclosporin": "ciclosporin",
    "ciclosporine": "ciclosporin",
    "hydroxychloroquine sulfate": "hydroxychloroquine",
    "hydroxychloroquine sulphate": "hydroxychloroquine",
    "azathioprine sodium": "azathioprine",
    "methotrexate sodium": "methotrexate",
    "human normal immunoglobulin": "immunoglobulin",
    "normal immunoglobulin": "immunoglobulin",
    "intravenous immunoglobulin": "immunoglobulin",
    "subcutaneous immunoglobulin": "immunoglobulin",
    "ivig": "immunoglobulin",
    "scig": "immunoglobulin",
}

#: Drugs the protocol prohibits after infusion besides the biologics.
PROHIBITED_AFTER_INFUSION = frozenset({"cyclophosphamide"})

_SPACES = re.compile(r"\s+")


def normalise_drug(name: str) -> str:
    """Return the name the site stores: trimmed, spaces collapsed, lower case, synonyms mapped."""
    key = _SPACES.sub(" ", name).strip().lower()
    return SYNONYMS.get(key, key)


def drug_class(name: str) -> DrugClass:
    """Return the class of a drug (any spelling ``normalise_drug`` maps); OTHER if unknown."""
    return DRUG_CLASSES.get(normalise_drug(name), DrugClass.OTHER)


def is_known_drug(name: str) -> bool:
    """Return True if the drug is one of the named drugs of section 6b."""
    return normalise_drug(name) in DRUG_CLASSES


def is_prohibited_after_infusion(name: str) -> bool:
    """Return True for a biologic or cyclophosphamide: given after infusion, it proposes a
    treatment failure."""
    generic = normalise_drug(name)
    return generic in PROHIBITED_AFTER_INFUSION or drug_class(generic) == DrugClass.BIOLOGIC


def first_prohibited_day(
    course: MedicationCourse, *, infusion_date: date, today: date
) -> date | None:
    """Return the first day after the infusion day that a prohibited course was active, or None.

    The days after infusion are Day 1 on. An ongoing course counts as active up to ``today``
    (a course going on from before infusion is prohibited from Day 1, once Day 1 has come); a
    course stopped on or before the infusion day, or of an allowed drug, gives None.
    """
    if not is_prohibited_after_infusion(course.drug):
        return None
    last_day = course.stop_date if course.stop_date is not None else today
    first_day = max(course.start_date, infusion_date + timedelta(days=1))
    return first_day if first_day <= last_day else None


#: LLDAS (clinical-rules.md section 5): an immunosuppressant started on one of the 28 days before
#: a visit (visit date - 28 to visit date - 1) is new at that visit.
NEW_IMMUNOSUPPRESSANT_DAYS = 28
#: The classes that count as immunosuppressants for LLDAS and DORIS besides the maintenance
#: ones; glucocorticoids count by their dose only.
NON_MAINTENANCE_IMMUNOSUPPRESSANTS = frozenset(
    {DrugClass.OTHER_IMMUNOSUPPRESSANT, DrugClass.BIOLOGIC}
)


def _keep_first_day(found: dict[str, date], drug: str, day: date) -> None:
    """Remember the earliest day of each drug (by its generic name)."""
    generic = normalise_drug(drug)
    if generic not in found or day < found[generic]:
        found[generic] = day


def _by_day(found: dict[str, date]) -> list[tuple[str, date]]:
    return sorted(found.items(), key=lambda given: (given[1], given[0]))


def new_immunosuppressants(
    courses: Iterable[MedicationCourse], *, visit_date: date
) -> list[tuple[str, date]]:
    """Return (drug, start date) of each immunosuppressant new at the visit (LLDAS).

    New: a course of an immunosuppressant that is not a maintenance one (biologics included)
    started in the 28 days before the visit, and not continuing a course of the same drug that
    ran the day before it started (a change of dose is a new course, not a new drug).
    Maintenance immunosuppressants are allowed even when new.
    """
    courses = list(courses)
    first = visit_date - timedelta(days=NEW_IMMUNOSUPPRESSANT_DAYS)
    last = visit_date - timedelta(days=1)
    found: dict[str, date] = {}
    for course in courses:
        if drug_class(course.drug) not in NON_MAINTENANCE_IMMUNOSUPPRESSANTS:
            continue
        if not first <= course.start_date <= last:
            continue
        day_before = course.start_date - timedelta(days=1)
        continuing = any(
            normalise_drug(other.drug) == normalise_drug(course.drug)
            and course_active_on(other, day_before)
            for other in courses
        )
        if not continuing:
            _keep_first_day(found, course.drug, course.start_date)
    return _by_day(found)


def biologics_after_infusion(
    courses: Iterable[MedicationCourse], *, infusion_date: date | None, visit_date: date
) -> list[tuple[str, date]]:
    """Return (drug, first day) of each biologic given on or after Day 1, up to the visit (DORIS).

    The first day is the first day from Day 1 (the day after the infusion) to the visit date that
    the course ran. Without an infusion date, a biologic given on the visit date counts.
    """
    since = infusion_date + timedelta(days=1) if infusion_date is not None else visit_date
    found: dict[str, date] = {}
    for course in courses:
        if drug_class(course.drug) != DrugClass.BIOLOGIC:
            continue
        first_day = max(course.start_date, since)
        last_day = visit_date if course.stop_date is None else min(course.stop_date, visit_date)
        if first_day <= last_day:
            _keep_first_day(found, course.drug, first_day)
    return _by_day(found)


def other_immunosuppressants_on(
    courses: Iterable[MedicationCourse], day: date
) -> list[tuple[str, date]]:
    """Return (drug, day) of each immunosuppressant neither maintenance nor biologic given on
    ``day`` (DORIS allows only maintenance immunosuppressants and antimalarials)."""
    found = {
        (normalise_drug(course.drug), day)
        for course in courses
        if drug_class(course.drug) == DrugClass.OTHER_IMMUNOSUPPRESSANT
        and course_active_on(course, day)
    }
    return sorted(found)
