"""The demo cohort: 3 sites, 11 infused children, entered through the same services as users' data.

Dates are relative to the day of loading, so the cohort always looks current: five participants
have reached Month 3 (four SRI-4 responders; S03-005 keeps proteinuria, so SLEDAI-2K falls by 2)
and six are earlier in follow-up. As in the seed study, nine had grade 1 CRS and two grade 1
ICANS, none higher; several had grade 3-4 cytopenias after lymphodepletion, and two a serious
infection or febrile neutropenia (adverse events). Each child's CAR-T treatment follows the
seed protocol: leukapheresis on day -20, fludarabine 30 and cyclophosphamide 300 mg/m² a day on
days -5 to -3, and the dose per kg times the weight in CAR+ cells. Every child tapers
prednisolone (S02-003 prednisone), some more slowly than others, and stays on
hydroxychloroquine; S03-005, whose nephritis persists, was given rituximab after infusion, which
proposes a treatment failure that awaits the coordinator (never recorded here). At Month 3 the
doses and the rituximab show in LLDAS and DORIS remission beside the disease activity.
Each descriptor present at baseline resolves by a study day or persists (None); a visit shows
the descriptors not yet resolved by its target day.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import import_module
from typing import cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from medications import services as medication_services
from medications.models import MedicationCourse, RouteChoice
from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from responses.services import participant_recompute_responses
from safety import services as safety_services
from safety.models import (
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
    SeizureChoice,
    TreatmentRecord,
)
from trialsite import services
from trialsite.models import (
    Participant,
    SignOffKind,
    Site,
    SiteMembership,
    Study,
    VisitDefinition,
)
from trialsite.selectors import current_study
from trialsite.two_factor.policy import second_factor_required

DEMO_REASON = "Demo cohort (manage.py load_demo)"
#: The default schedule's visits: code -> (English name, Chinese name), as the migration that
#: brought the Chinese names holds them.
DEFAULT_SCHEDULE_NAMES: dict[str, tuple[str, str]] = import_module(
    "trialsite.migrations.0018_site_and_visit_names_in_chinese"
).DEFAULT_SCHEDULE_NAMES
DEMO_PASSWORD = "trial-demo-2026"

# code, English name, Chinese name.
SITES = [
    ("S01", "Eastern Children's Hospital", "东部儿童医院"),
    ("S02", "Northern University Children's Hospital", "北方大学儿童医院"),
    ("S03", "Southern Women and Children's Medical Center", "南方妇女儿童医疗中心"),
]

# username, role (group), site codes; the superuser "admin" manages everything in Django admin.
DEMO_USERS = [
    ("coordinator", "Coordinator", ["S01"]),
    ("investigator", "Investigator", ["S02"]),
    ("monitor", "Monitor", []),
    ("datamanager", "Data manager", []),
]
DEMO_USERNAMES = ("admin", *(username for username, _role, _sites in DEMO_USERS))
#: The demo's stand-in for a phone: the device that `manage.py demo_code USERNAME` reads.
DEMO_DEVICE_NAME = "Demo (manage.py demo_code)"


@dataclass(frozen=True)
class DemoParticipant:
    participant_id: str
    site: str
    sex: str
    age: int
    dose: int
    infused_days_ago: int
    visits: tuple[str, ...]  # visit codes after BL with their own PGA (SCR, D0, D7 are added)
    sledai: dict[str, int | None]  # descriptor present at baseline -> study day it resolves by
    pga: tuple[str, ...]  # BL then each visit
    bilag_baseline: dict[str, str]  # systems not named are E (never involved)
    bilag_followup: dict[str, str]  # grades from Month 1 on


COHORT = [
    DemoParticipant(
        "S01-001", "S01", "F", 14, 100_000, 130, ("D14", "M1", "M2", "M3"),
        {"arthritis": 28, "rash": 56, "mucosal_ulcers": 28, "proteinuria": 56,
         "low_complement": None, "increased_dna_binding": None},
        ("2.10", "1.80", "1.20", "0.80", "0.40"),
        {"musculoskeletal": "B", "mucocutaneous": "B", "renal": "B", "constitutional": "C"},
        {"musculoskeletal": "D", "mucocutaneous": "C", "renal": "C", "constitutional": "D"},
    ),
    DemoParticipant(
        "S01-002", "S01", "F", 11, 30_000, 120, ("D14", "M1", "M2", "M3"),
        {"hematuria": 56, "proteinuria": 90, "pyuria": 28, "alopecia": 56,
         "low_complement": None, "increased_dna_binding": 90},
        ("2.50", "2.30", "1.60", "1.00", "0.70"),
        {"renal": "A", "mucocutaneous": "C"},
        {"renal": "C", "mucocutaneous": "D"},
    ),
    DemoParticipant(
        "S02-003", "S02", "M", 16, 300_000, 110, ("D14", "M1", "M2", "M3"),
        {"vasculitis": 28, "arthritis": 56, "rash": 56, "fever": 14,
         "low_complement": None, "increased_dna_binding": None},
        ("2.40", "2.00", "1.40", "0.90", "0.60"),
        {"mucocutaneous": "A", "musculoskeletal": "B", "constitutional": "B"},
        {"mucocutaneous": "C", "musculoskeletal": "C", "constitutional": "D"},
    ),
    DemoParticipant(
        "S02-004", "S02", "F", 9, 100_000, 100, ("D14", "M1", "M2", "M3"),
        {"pleurisy": 28, "pericarditis": 28, "arthritis": 56, "thrombocytopenia": 56,
         "leukopenia": None, "low_complement": None, "increased_dna_binding": None},
        ("1.90", "1.70", "1.10", "0.70", "0.40"),
        {"cardiorespiratory": "B", "musculoskeletal": "B", "haematological": "C"},
        {"cardiorespiratory": "D", "musculoskeletal": "D", "haematological": "C"},
    ),
    DemoParticipant(
        "S03-005", "S03", "F", 15, 30_000, 125, ("D14", "M1", "M2", "M3"),
        {"proteinuria": None, "rash": 56, "low_complement": None, "increased_dna_binding": None},
        ("1.80", "1.70", "1.50", "1.30", "1.20"),
        {"renal": "B", "mucocutaneous": "C"},
        {"renal": "B", "mucocutaneous": "D"},
    ),
    DemoParticipant(
        "S01-006", "S01", "F", 13, 300_000, 70, ("D14", "M1", "M2"),
        {"arthritis": 28, "rash": 56, "mucosal_ulcers": 56,
         "low_complement": None, "increased_dna_binding": None},
        ("2.00", "1.80", "1.20", "0.90"),
        {"musculoskeletal": "B", "mucocutaneous": "B"},
        {"musculoskeletal": "D", "mucocutaneous": "C"},
    ),
    DemoParticipant(
        "S01-007", "S01", "F", 8, 30_000, 60, ("D14", "M1", "M2"),
        {"hematuria": 56, "proteinuria": None, "low_complement": None,
         "increased_dna_binding": None},
        ("2.20", "2.10", "1.70", "1.40"),
        {"renal": "B"},
        {"renal": "B"},
    ),
    DemoParticipant(
        "S02-008", "S02", "M", 12, 100_000, 40, ("D14", "M1"),
        {"arthritis": 28, "alopecia": None, "rash": 28,
         "low_complement": None, "increased_dna_binding": None},
        ("1.70", "1.50", "1.00"),
        {"musculoskeletal": "B", "mucocutaneous": "C"},
        {"musculoskeletal": "D", "mucocutaneous": "C"},
    ),
    DemoParticipant(
        "S02-009", "S02", "F", 17, 300_000, 30, ("D14", "M1"),
        {"pleurisy": 28, "arthritis": 28, "thrombocytopenia": None,
         "low_complement": None, "increased_dna_binding": None},
        ("2.00", "1.90", "1.20"),
        {"cardiorespiratory": "B", "musculoskeletal": "B", "haematological": "C"},
        {"cardiorespiratory": "D", "musculoskeletal": "D", "haematological": "C"},
    ),
    DemoParticipant(
        "S03-010", "S03", "F", 6, 100_000, 20, ("D14",),
        {"rash": None, "mucosal_ulcers": None, "arthritis": None,
         "low_complement": None, "increased_dna_binding": None},
        ("1.60", "1.50"),
        {"mucocutaneous": "B", "musculoskeletal": "B"},
        {"mucocutaneous": "B", "musculoskeletal": "B"},
    ),
    DemoParticipant(
        "S03-011", "S03", "F", 10, 30_000, 10, ("D7",),
        {"proteinuria": None, "hematuria": None, "low_complement": None,
         "increased_dna_binding": None},
        ("2.30", "2.20"),
        {"renal": "A"},
        {"renal": "A"},
    ),
]  # fmt: skip

# Visit dates sit a day or two off target, as real visits do; S02-004 came late to Month 1,
# which shows an out-of-window visit (kept and flagged, never refused).
DATE_OFFSETS = {("S02-004", "M1"): 10}
FOLLOWUP_GRADES_FROM_DAY = 28
EARLY_VISITS = ("SCR", "D0", "D7")
ENROLLED_DAYS_BEFORE_INFUSION = 35


@dataclass(frozen=True)
class DemoBCells:
    baseline_cd19: str  # CD19+ B cells per µL at screening and baseline
    baseline_igg: str  # g/L at screening and baseline
    recovered: dict[str, str]  # visit code -> CD19+ per µL once B cells return (else 0)


#: CD19+ B cells: normal before lymphodepletion (200-600 per µL), then aplasia (0 per µL) from
#: Day 7 (Day 0 has none counted); three of the five children who reached Month 3 reconstitute
#: by then, S02-003 already at Month 2 (S03-005, given rituximab, does not). Immunoglobulins
#: fall mildly (IG_SHARE_OF_BASELINE).
DEMO_B_CELLS = {
    "S01-001": DemoBCells("412", "13.20", {"M3": "18"}),
    "S01-002": DemoBCells("268", "15.80", {}),
    "S02-003": DemoBCells("534", "12.10", {"M2": "4", "M3": "46"}),
    "S02-004": DemoBCells("356", "11.40", {"M3": "9"}),
    "S03-005": DemoBCells("298", "14.60", {}),
    "S01-006": DemoBCells("477", "12.80", {}),
    "S01-007": DemoBCells("225", "16.30", {}),
    "S02-008": DemoBCells("581", "10.90", {}),
    "S02-009": DemoBCells("349", "13.70", {}),
    "S03-010": DemoBCells("596", "9.80", {}),
    "S03-011": DemoBCells("243", "17.10", {}),
}
DEMO_BASELINE_IGA_G_L = Decimal("1.60")
DEMO_BASELINE_IGM_G_L = Decimal("1.10")
#: Each visit's immunoglobulins as a share of the baseline ones (Day 0 has none measured).
IG_SHARE_OF_BASELINE = {
    "SCR": Decimal("1"),
    "BL": Decimal("1"),
    "D7": Decimal("0.97"),
    "D14": Decimal("0.94"),
    "M1": Decimal("0.90"),
    "M2": Decimal("0.86"),
    "M3": Decimal("0.83"),
}
BEFORE_LYMPHODEPLETION = ("SCR", "BL")


def immune_labs(participant_id: str, code: str) -> dict[str, object] | None:
    """Return the CD19+ B cells and immunoglobulins of a demo visit (None: none measured)."""
    if code not in IG_SHARE_OF_BASELINE:
        return None
    demo = DEMO_B_CELLS[participant_id]
    share = IG_SHARE_OF_BASELINE[code]
    cd19 = demo.baseline_cd19 if code in BEFORE_LYMPHODEPLETION else demo.recovered.get(code, "0")
    return {
        "cd19_per_ul": Decimal(cd19),
        "igg_g_l": (Decimal(demo.baseline_igg) * share).quantize(Decimal("0.01"), ROUND_HALF_UP),
        "iga_g_l": (DEMO_BASELINE_IGA_G_L * share).quantize(Decimal("0.01"), ROUND_HALF_UP),
        "igm_g_l": (DEMO_BASELINE_IGM_G_L * share).quantize(Decimal("0.01"), ROUND_HALF_UP),
    }


def sledai_answers(participant: DemoParticipant, study_day: int) -> dict[str, bool]:
    """Return the 24 answers at a study day: a baseline descriptor until the day it resolves."""
    present = {
        field
        for field, resolves_by in participant.sledai.items()
        if resolves_by is None or study_day < resolves_by
    }
    return {field: field in present for field in SLEDAI_FIELDS}


def bilag_grades(participant: DemoParticipant, study_day: int) -> dict[str, str]:
    """Return the nine grades at a study day (baseline grades until Month 1)."""
    grades = participant.bilag_baseline
    if study_day >= FOLLOWUP_GRADES_FROM_DAY:
        grades = participant.bilag_followup
    return {system: grades.get(system, "E") for system in BILAG_SYSTEMS}


def _target_day(definition: VisitDefinition) -> int:
    """Return the target day of a demo visit.

    The demo's visits are scheduled ones of the default schedule (migration 0002), and the
    database gives every scheduled visit a target day (visit_definition_scheduled_has_window).
    """
    return cast(int, definition.target_day)


def _visit_date(participant: DemoParticipant, infusion: date, definition: VisitDefinition) -> date:
    number = int(participant.participant_id[-3:])
    offset = DATE_OFFSETS.get((participant.participant_id, definition.code), number % 3 - 1)
    if definition.window_low == definition.window_high:
        offset = 0  # the infusion day is exact
    return infusion + timedelta(days=_target_day(definition) + offset)


def _load_participant(
    study: Study,
    sites: dict[str, Site],
    demo: DemoParticipant,
    today: date,
    author: AbstractBaseUser,
) -> Participant:
    infusion = today - timedelta(days=demo.infused_days_ago)
    participant = services.participant_create(
        study=study,
        site=sites[demo.site],
        participant_id=demo.participant_id,
        sex=demo.sex,
        age_at_enrollment=demo.age,
        enrollment_date=infusion - timedelta(days=ENROLLED_DAYS_BEFORE_INFUSION),
        infusion_date=infusion,
        dose_cells_per_kg=demo.dose,
        author=author,
        reason=DEMO_REASON,
    )
    definitions = {definition.code: definition for definition in study.visit_definitions.all()}
    # The demo loads into the default study (migration 0002), whose baseline visit is BL.
    baseline = cast(VisitDefinition, study.baseline_visit)
    pgas = dict(zip((baseline.code, *demo.visits), demo.pga, strict=True))
    # Screening, infusion day and day 7 are recorded too; the PGA is still the baseline one.
    for code in EARLY_VISITS:
        pgas.setdefault(code, demo.pga[0])
    for code, pga in pgas.items():
        definition = definitions[code]
        visit = services.visit_create(
            participant=participant,
            visit_definition=definition,
            visit_date=_visit_date(demo, infusion, definition),
            author=author,
            reason=DEMO_REASON,
        )
        services.visit_save_assessments(
            visit=visit,
            sledai=sledai_answers(demo, _target_day(definition)),
            pga=Decimal(pga),
            bilag=bilag_grades(demo, _target_day(definition)),
            labs=immune_labs(demo.participant_id, code),
            author=author,
            reason=DEMO_REASON,
        )
    return participant


def _ensure_user(
    username: str,
    *,
    role: str | None,
    site_codes: list[str],
    sites: dict[str, Site],
    author: AbstractBaseUser | None,
    superuser: bool = False,
) -> AbstractBaseUser:
    """Return the demo user, created if need be, with its role and site memberships.

    The memberships are audited with ``author`` (the demo superuser) as their author.
    """
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        if superuser:
            user = User.objects.create_superuser(username, password=DEMO_PASSWORD)
        else:
            user = User.objects.create_user(username, password=DEMO_PASSWORD)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    for code in site_codes:
        if not SiteMembership.objects.filter(user=user, site=sites[code]).exists():
            membership = SiteMembership(user=user, site=sites[code])
            services.save_with_audit(membership, author=author, reason=DEMO_REASON)
    return user


def _ensure_demo_device(user: AbstractBaseUser) -> None:
    """Give a demo user who must pass a second factor a confirmed device, whose codes
    ``demo_code`` prints: the demo needs no phone."""
    user = cast(User, user)
    if (
        second_factor_required(user)
        and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    ):
        device = TOTPDevice(user=user, name=DEMO_DEVICE_NAME, confirmed=True)
        device.full_clean()
        device.save()


class NoDemoCode(Exception):
    """The user is not a demo user with a demo device, or must wait for a new code."""


def demo_code(username: str, *, now: float) -> str:
    """Return the code that a demo user's authenticator app would show at ``now`` (Unix time).

    A code is accepted once; if the current one was used, this is the next one, which the site
    accepts already (a device takes the codes one step either side of its clock).
    """
    if username not in DEMO_USERNAMES:
        raise NoDemoCode(_("%(user)s is not a demo user.") % {"user": username})
    device = TOTPDevice.objects.filter(
        user__username=username, name=DEMO_DEVICE_NAME, confirmed=True
    ).first()
    if device is None:
        raise NoDemoCode(
            _("%(user)s has no demo second factor: the demo gives one to the users who need one.")
            % {"user": username}
        )
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = now
    ahead = max(0, device.last_t + 1 - totp.t())
    if ahead > device.tolerance:
        raise NoDemoCode(
            _("The next code of %(user)s was used already: try again in %(seconds)d seconds.")
            % {"user": username, "seconds": (ahead - device.tolerance) * device.step}
        )
    totp.drift += ahead
    return f"{totp.token():0{device.digits}d}"


#: How far the demo takes some participants' early visits through their sign-offs: the
#: monitor's source verification, then the S02 investigator's signature, then the data
#: manager's lock.
DEMO_SIGN_OFFS: dict[str, tuple[SignOffKind, tuple[str, ...]]] = {
    "S01-001": (SignOffKind.VERIFIED, ("SCR", "BL")),
    "S02-003": (SignOffKind.LOCKED, ("SCR", "BL", "D0", "D7")),
    "S02-004": (SignOffKind.SIGNED, ("SCR", "BL", "D0")),
}


def _sign_off(participant: Participant) -> None:
    """Sign off the participant's visits named in DEMO_SIGN_OFFS, as the demo users would; a
    participant whose visits are signed has their CAR-T treatment record and CRS episodes taken
    to the same step (their grades are confirmed already: DEMO_CONFIRMED_SITE)."""
    if participant.participant_id not in DEMO_SIGN_OFFS:
        return
    step, codes = DEMO_SIGN_OFFS[participant.participant_id]
    users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}
    for visit in participant.visits.filter(visit_definition__code__in=codes):
        services.visit_verify(visit=visit, author=users["monitor"])
        if step in (SignOffKind.SIGNED, SignOffKind.LOCKED):
            services.visit_sign(visit=visit, author=users["investigator"], password=DEMO_PASSWORD)
        if step == SignOffKind.LOCKED:
            services.visit_lock(visit=visit, author=users["datamanager"])
    if step == SignOffKind.VERIFIED:
        return
    treatment = TreatmentRecord.objects.filter(participant=participant)
    for record in [*treatment, *CrsEpisode.objects.filter(participant=participant)]:
        services.record_verify(record=record, author=users["monitor"])
        services.record_sign(record=record, author=users["investigator"], password=DEMO_PASSWORD)
        if step == SignOffKind.LOCKED:
            services.record_lock(record=record, author=users["datamanager"])


@dataclass(frozen=True)
class DemoCrs:
    onset_day: int  # study day of onset (the infusion is day 0)
    days: int  # duration, onset and resolution days both counted
    max_temp_c: str
    fever_masked: bool = False
    tocilizumab: bool = False


@dataclass(frozen=True)
class DemoIcans:
    onset_day: int
    days: int
    tool_score: int  # CAPD for the children aged 12 or under at onset, ICE for the others


#: As in the seed study: grade 1 CRS (fever only) in 9 of the 11 infused children, none higher.
DEMO_CRS = {
    "S01-001": DemoCrs(1, 3, "38.6"),
    "S01-002": DemoCrs(2, 2, "38.2"),
    "S02-003": DemoCrs(1, 4, "39.4", tocilizumab=True),
    "S02-004": DemoCrs(3, 2, "38.0"),
    "S03-005": DemoCrs(1, 2, "38.9"),
    "S01-006": DemoCrs(2, 3, "38.4"),
    "S01-007": DemoCrs(1, 2, "37.6", fever_masked=True, tocilizumab=True),
    "S02-008": DemoCrs(2, 2, "38.3"),
    "S03-011": DemoCrs(1, 3, "38.7"),
}
#: Grade 1 ICANS in 2 of the 11: CAPD 3 at age 11, ICE 8 at age 16.
DEMO_ICANS = {"S01-002": DemoIcans(5, 2, 3), "S02-003": DemoIcans(4, 2, 8)}


#: The demo investigator (site S02) has confirmed the grades of S02's episodes; the others await
#: their investigator.
DEMO_CONFIRMED_SITE = "S02"


@dataclass(frozen=True)
class DemoAdverseEvent:
    term: str
    grade: int
    start_day: int  # study day the event started (lymphodepletion ends on day -2)
    days: int | None  # duration, start and end days both counted; None while ongoing
    related_cart: str
    related_ld: str
    action: str
    outcome: str
    serious: bool = False  # a serious demo event required hospitalisation
    acknowledged: bool = False  # by the demo monitor


_NOT, _POSSIBLE, _PROBABLE, _DEFINITE = (
    Relatedness.NOT,
    Relatedness.POSSIBLE,
    Relatedness.PROBABLE,
    Relatedness.DEFINITE,
)
_NONE, _TREATED, _HOSPITALISED = AeAction.NONE, AeAction.TREATMENT_GIVEN, AeAction.HOSPITALISATION
_RECOVERED, _RECOVERING = AeOutcome.RECOVERED, AeOutcome.RECOVERING
_NEUTROPENIA, _LYMPHOPENIA = "Neutrophil count decreased", "Lymphocyte count decreased"
#: Cytopenias after lymphodepletion in several children (lymphopenia from day -2 cannot be due to
#: the CAR-T cells, given on day 0), a fever months later unrelated to either, and two serious
#: events needing hospitalisation: S02-004's lung infection, acknowledged by the monitor, and
#: S01-006's febrile neutropenia, awaiting acknowledgement (on Home).
DEMO_ADVERSE_EVENTS: dict[str, tuple[DemoAdverseEvent, ...]] = {
    "S01-001": (
        DemoAdverseEvent(_LYMPHOPENIA, 4, -2, 30, _NOT, _DEFINITE, _NONE, _RECOVERED),
        DemoAdverseEvent(_NEUTROPENIA, 4, 2, 11, _POSSIBLE, _PROBABLE, _TREATED, _RECOVERED),
    ),
    "S01-002": (
        DemoAdverseEvent(_NEUTROPENIA, 3, 3, 8, _POSSIBLE, _PROBABLE, _NONE, _RECOVERED),
        DemoAdverseEvent("Fever", 1, 60, 2, _NOT, _NOT, _NONE, _RECOVERED),
    ),
    "S02-003": (
        DemoAdverseEvent(_LYMPHOPENIA, 4, -2, 23, _NOT, _DEFINITE, _NONE, _RECOVERED),
        DemoAdverseEvent(_NEUTROPENIA, 3, 4, 8, _POSSIBLE, _PROBABLE, _NONE, _RECOVERED),
    ),
    "S02-004": (
        DemoAdverseEvent(_NEUTROPENIA, 3, 3, 10, _POSSIBLE, _PROBABLE, _NONE, _RECOVERED),
        DemoAdverseEvent(
            "Lung infection", 3, 45, 8, _POSSIBLE, _NOT, _HOSPITALISED, _RECOVERED,
            serious=True, acknowledged=True,
        ),
    ),
    "S03-005": (DemoAdverseEvent("Fever", 2, 70, 3, _NOT, _NOT, _TREATED, _RECOVERED),),
    "S01-006": (
        DemoAdverseEvent(_NEUTROPENIA, 4, 3, 12, _POSSIBLE, _PROBABLE, _TREATED, _RECOVERED),
        DemoAdverseEvent(
            "Febrile neutropenia", 3, 6, 5, _POSSIBLE, _PROBABLE, _HOSPITALISED, _RECOVERED,
            serious=True,
        ),
    ),
    "S02-009": (
        DemoAdverseEvent(_LYMPHOPENIA, 4, -2, None, _NOT, _DEFINITE, _NONE, _RECOVERING),
    ),
    "S03-011": (
        DemoAdverseEvent(_NEUTROPENIA, 3, 2, None, _POSSIBLE, _PROBABLE, _NONE, _RECOVERING),
    ),
}  # fmt: skip


def _load_adverse_events(participant: Participant, author: AbstractBaseUser) -> None:
    """Record the demo participant's adverse events through the safety services."""
    infusion = cast(date, participant.infusion_date)
    for demo in DEMO_ADVERSE_EVENTS.get(participant.participant_id, ()):
        start = infusion + timedelta(days=demo.start_day)
        event = safety_services.adverse_event_save(
            event=AdverseEvent(
                participant=participant,
                term=demo.term,
                grade=demo.grade,
                start_date=start,
                end_date=start + timedelta(days=demo.days - 1) if demo.days is not None else None,
                serious=demo.serious,
                hospitalisation=demo.serious,
                related_cart=demo.related_cart,
                related_ld=demo.related_ld,
                action=demo.action,
                outcome=demo.outcome,
            ),
            author=author,
            reason=DEMO_REASON,
        )
        if demo.acknowledged:
            monitor = User.objects.get(username="monitor")
            safety_services.sae_acknowledge(event=event, author=monitor)


#: Each demo child's weight (kg) and body surface area (m²) used for dosing, and the time of
#: the infusion.
DEMO_BODY_SIZES = {
    "S01-001": ("50.0", "1.48", "10:00"),
    "S01-002": ("36.0", "1.20", "11:30"),
    "S02-003": ("60.0", "1.70", "09:45"),
    "S02-004": ("28.0", "0.98", "10:15"),
    "S03-005": ("52.0", "1.52", "14:00"),
    "S01-006": ("45.0", "1.38", "10:30"),
    "S01-007": ("25.0", "0.90", "09:30"),
    "S02-008": ("40.0", "1.28", "13:15"),
    "S02-009": ("56.0", "1.60", "10:45"),
    "S03-010": ("20.0", "0.78", "11:00"),
    "S03-011": ("32.0", "1.10", "12:00"),
}
#: Study days of the demo's leukapheresis and first lymphodepletion day (3 days: -5 to -3).
DEMO_LEUKAPHERESIS_DAY = -20
DEMO_LYMPHODEPLETION_START_DAY = -5


def _load_treatment(participant: Participant, author: AbstractBaseUser) -> None:
    """Record the demo participant's CAR-T treatment through the safety service: the seed
    protocol's lymphodepletion, and the total cells its dose per kg gives at its weight."""
    weight, bsa, infusion_time = DEMO_BODY_SIZES[participant.participant_id]
    infusion = cast(date, participant.infusion_date)
    record = TreatmentRecord(
        participant=participant,
        leukapheresis_date=infusion + timedelta(days=DEMO_LEUKAPHERESIS_DAY),
        lymphodepletion_start_date=infusion + timedelta(days=DEMO_LYMPHODEPLETION_START_DAY),
        lymphodepletion_days=3,
        fludarabine_mg_m2_per_day=Decimal("30"),
        cyclophosphamide_mg_m2_per_day=Decimal("300"),
        bsa_m2=Decimal(bsa),
        weight_kg=Decimal(weight),
        infusion_time=time.fromisoformat(infusion_time),
        total_car_cells=int(cast(int, participant.dose_cells_per_kg) * Decimal(weight)),
    )
    safety_services.treatment_record_save(record=record, author=author, reason=DEMO_REASON)


def _load_safety(participant: Participant, author: AbstractBaseUser) -> None:
    """Record the demo participant's CRS and ICANS episodes and adverse events through the
    safety services."""
    _load_adverse_events(participant, author)
    infusion = cast(date, participant.infusion_date)
    episodes: list[CrsEpisode | IcansEpisode] = []
    crs = DEMO_CRS.get(participant.participant_id)
    if crs is not None:
        onset = infusion + timedelta(days=crs.onset_day)
        crs_episode = safety_services.crs_episode_save(
            episode=CrsEpisode(
                participant=participant,
                onset_date=onset,
                resolution_date=onset + timedelta(days=crs.days - 1),
                max_temp_c=Decimal(crs.max_temp_c),
                fever_masked=crs.fever_masked,
                hypotension=HypotensionChoice.NONE,
                oxygen=OxygenChoice.NONE,
                tocilizumab=crs.tocilizumab,
                corticosteroids=False,
                died_of_crs=False,
            ),
            author=author,
            reason=DEMO_REASON,
        )
        episodes.append(crs_episode)
    icans = DEMO_ICANS.get(participant.participant_id)
    if icans is not None:
        onset = infusion + timedelta(days=icans.onset_day)
        icans_episode = safety_services.icans_episode_save(
            episode=IcansEpisode(
                participant=participant,
                onset_date=onset,
                resolution_date=onset + timedelta(days=icans.days - 1),
                tool=safety_services.icans_tool_for(participant, onset),
                tool_score=icans.tool_score,
                unable_to_perform=False,
                consciousness=ConsciousnessChoice.ALERT,
                seizure=SeizureChoice.NONE,
                motor=MotorChoice.NONE,
                raised_icp=RaisedIcpChoice.NONE,
                died_of_icans=False,
            ),
            author=author,
            reason=DEMO_REASON,
        )
        episodes.append(icans_episode)
    if participant.site.code == DEMO_CONFIRMED_SITE:
        investigator = User.objects.get(username="investigator")
        for episode in episodes:
            safety_services.episode_confirm(episode=episode, author=investigator)


@dataclass(frozen=True)
class DemoCourse:
    drug: str
    daily_dose_mg: str
    route: str
    start_day: int  # study day of the first dose (the infusion is day 0)
    stop_day: int | None  # study day of the last dose; None: ongoing


_ORAL, _IV = RouteChoice.ORAL, RouteChoice.INTRAVENOUS
_ENROLMENT_DAY = -ENROLLED_DAYS_BEFORE_INFUSION

#: Most demo children taper prednisolone after infusion (20, then 10, then 5 mg/day, then none
#: from day 90); their visits' prednisolone-equivalent doses follow the taper.
DEMO_STEROID_TAPER = (
    DemoCourse("prednisolone", "20", _ORAL, _ENROLMENT_DAY, 13),
    DemoCourse("prednisolone", "10", _ORAL, 14, 41),
    DemoCourse("prednisolone", "5", _ORAL, 42, 89),
)
#: Three of the children who reached Month 3 taper more slowly, each dose a new course, so that
#: Month 3 shows the dose limits of LLDAS (<= 7.5 mg/day) and DORIS remission (<= 5 mg/day):
#: S01-001 is on 5 mg/day at Month 3 (day 90), S01-002 on 7.5 (day 91), and S02-003, whose
#: vasculitis and treated CRS kept the dose up, on 10 mg/day of prednisone (day 89).
DEMO_SLOWER_TAPERS: dict[str, tuple[DemoCourse, ...]] = {
    "S01-001": (
        DemoCourse("prednisolone", "20", _ORAL, _ENROLMENT_DAY, 13),
        DemoCourse("prednisolone", "10", _ORAL, 14, 41),
        DemoCourse("prednisolone", "7.5", _ORAL, 42, 69),
        DemoCourse("prednisolone", "5", _ORAL, 70, None),
    ),
    "S01-002": (
        DemoCourse("prednisolone", "20", _ORAL, _ENROLMENT_DAY, 13),
        DemoCourse("prednisolone", "10", _ORAL, 14, 41),
        DemoCourse("prednisolone", "7.5", _ORAL, 42, 104),
        DemoCourse("prednisolone", "5", _ORAL, 105, None),
    ),
    "S02-003": (
        DemoCourse("prednisone", "20", _ORAL, _ENROLMENT_DAY, 20),
        DemoCourse("prednisone", "15", _ORAL, 21, 48),
        DemoCourse("prednisone", "10", _ORAL, 49, 97),
        DemoCourse("prednisone", "7.5", _ORAL, 98, None),
    ),
}
DEMO_HYDROXYCHLOROQUINE = DemoCourse("hydroxychloroquine", "200", _ORAL, -400, None)
#: The children with renal lupus took mycophenolate until the week before lymphodepletion.
DEMO_MYCOPHENOLATE = DemoCourse("mycophenolate mofetil", "1000", _ORAL, -200, -8)
DEMO_MYCOPHENOLATE_PARTICIPANTS = ("S01-002", "S03-005", "S01-007", "S03-011")
#: Tocilizumab (8 mg/kg) on the first day of the CRS episodes recorded with tocilizumab.
DEMO_TOCILIZUMAB_MG = {"S02-003": "400", "S01-007": "240"}
#: S03-005's proteinuria persisted after Month 2: two doses of rituximab (750 mg/m², at most
#: 1 g) two weeks apart, on days 64 and 78. A biologic after infusion is protocol-prohibited: it
#: proposes day 64 as the treatment failure date, which the demo leaves for the coordinator to
#: confirm or dismiss on the participant's page. Until then it fails LLDAS (started in the 28
#: days before Month 3) and DORIS remission (a biologic after infusion) at Month 3.
DEMO_RESCUE_COURSES: dict[str, tuple[DemoCourse, ...]] = {
    "S03-005": (
        DemoCourse("rituximab", "1000", _IV, 64, 64),
        DemoCourse("rituximab", "1000", _IV, 78, 78),
    ),
}


def _demo_courses(participant_id: str) -> list[DemoCourse]:
    """Return the demo participant's medication courses; only DEMO_RESCUE_COURSES are
    prohibited after infusion."""
    courses = [
        *DEMO_SLOWER_TAPERS.get(participant_id, DEMO_STEROID_TAPER),
        DEMO_HYDROXYCHLOROQUINE,
    ]
    if participant_id in DEMO_MYCOPHENOLATE_PARTICIPANTS:
        courses.append(DEMO_MYCOPHENOLATE)
    crs = DEMO_CRS.get(participant_id)
    if participant_id in DEMO_TOCILIZUMAB_MG and crs is not None:
        dose = DEMO_TOCILIZUMAB_MG[participant_id]
        courses.append(DemoCourse("tocilizumab", dose, _IV, crs.onset_day, crs.onset_day))
    courses.extend(DEMO_RESCUE_COURSES.get(participant_id, ()))
    return courses


def _load_medications(participant: Participant, author: AbstractBaseUser, today: date) -> None:
    """Record the demo participant's medication courses through the medication service, then
    rescore the participant once (LLDAS and DORIS read the courses): a course not started by
    ``today`` is left out, and one not yet stopped is ongoing. A proposed treatment failure is
    left for the coordinator."""
    infusion = cast(date, participant.infusion_date)
    for demo in _demo_courses(participant.participant_id):
        start = infusion + timedelta(days=demo.start_day)
        if start > today:
            continue
        stop = infusion + timedelta(days=demo.stop_day) if demo.stop_day is not None else None
        medication_services.medication_course_save(
            course=MedicationCourse(
                participant=participant,
                drug=demo.drug,
                daily_dose_mg=Decimal(demo.daily_dose_mg),
                route=demo.route,
                start_date=start,
                stop_date=stop if stop is not None and stop < today else None,
            ),
            author=author,
            reason=DEMO_REASON,
            rescore=False,
        )
    participant_recompute_responses(participant=participant)


@dataclass(frozen=True)
class DemoLoadResult:
    participants_created: list[str]
    #: The demo users whose second factor ``demo_code`` gives.
    demo_code_users: list[str]


def _name_schedule_in_chinese(study: Study, author: AbstractBaseUser) -> None:
    """Give the visits of the default schedule that have no Chinese name yet theirs (the
    migration that brought Chinese names gave them to the schedule it found)."""
    for definition in study.visit_definitions.filter(code__in=DEFAULT_SCHEDULE_NAMES):
        english, chinese = DEFAULT_SCHEDULE_NAMES[definition.code]
        if definition.name_en == english and not definition.name_zh_hans:
            definition.name_zh_hans = chinese
            services.save_with_audit(definition, author=author, reason=DEMO_REASON)


@transaction.atomic
def load_demo(*, today: date) -> DemoLoadResult:
    """Create the demo sites, users and cohort; what already exists is left as it is, but for
    the Chinese names of the demo sites and of the default schedule's visits, given where empty."""
    study = current_study()
    # The superuser first: it is the author of every audited row the demo writes.
    admin = _ensure_user("admin", role=None, site_codes=[], sites={}, author=None, superuser=True)
    sites = {}
    for code, english, chinese in SITES:
        site = Site.objects.filter(code=code).first()
        if site is None:
            site = Site(code=code, name_en=english, name_zh_hans=chinese)
            services.save_with_audit(site, author=admin, reason=DEMO_REASON)
        elif not site.name_zh_hans:
            site.name_zh_hans = chinese
            services.save_with_audit(site, author=admin, reason=DEMO_REASON)
        sites[code] = site
    _name_schedule_in_chinese(study, admin)

    _ensure_demo_device(admin)
    for username, role, site_codes in DEMO_USERS:
        user = _ensure_user(username, role=role, site_codes=site_codes, sites=sites, author=admin)
        _ensure_demo_device(user)

    existing = set(study.participants.values_list("participant_id", flat=True))
    created = [
        _load_participant(study, sites, demo, today, admin)
        for demo in COHORT
        if demo.participant_id not in existing
    ]
    for participant in created:
        _load_treatment(participant, admin)
        _load_safety(participant, admin)
        _load_medications(participant, admin, today)
        _sign_off(participant)
    with_demo_device = set(
        TOTPDevice.objects.filter(name=DEMO_DEVICE_NAME, confirmed=True).values_list(
            "user__username", flat=True
        )
    )
    return DemoLoadResult(
        participants_created=[participant.participant_id for participant in created],
        demo_code_users=[name for name in DEMO_USERNAMES if name in with_demo_device],
    )
