"""The demo cohort: 3 sites, 11 infused children, entered through the same services as users' data.

Dates are relative to the day of loading, so the cohort always looks current: five participants
have reached Month 3 (four SRI-4 responders; S03-005 keeps proteinuria, so SLEDAI-2K falls by 2)
and six are earlier in follow-up. As in the seed study, nine had grade 1 CRS and two grade 1
ICANS, none higher. Each descriptor present at baseline resolves by a study day or
persists (None); a visit shows the descriptors not yet resolved by its target day.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from safety import services as safety_services
from safety.models import (
    ConsciousnessChoice,
    CrsEpisode,
    HypotensionChoice,
    IcansEpisode,
    MotorChoice,
    OxygenChoice,
    RaisedIcpChoice,
    SeizureChoice,
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
DEMO_PASSWORD = "trial-demo-2026"

SITES = [
    ("S01", "Eastern Children's Hospital"),
    ("S02", "Northern University Children's Hospital"),
    ("S03", "Southern Women and Children's Medical Center"),
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
        ("2.10", "1.80", "1.20", "0.80", "0.50"),
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
    """Sign off the participant's visits named in DEMO_SIGN_OFFS, as the demo users would."""
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


def _load_safety(participant: Participant, author: AbstractBaseUser) -> None:
    """Record the demo participant's CRS and ICANS episodes through the safety services."""
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
class DemoLoadResult:
    participants_created: list[str]
    #: The demo users whose second factor ``demo_code`` gives.
    demo_code_users: list[str]


@transaction.atomic
def load_demo(*, today: date) -> DemoLoadResult:
    """Create the demo sites, users and cohort; what already exists is left as it is."""
    study = current_study()
    # The superuser first: it is the author of every audited row the demo writes.
    admin = _ensure_user("admin", role=None, site_codes=[], sites={}, author=None, superuser=True)
    sites = {}
    for code, name in SITES:
        site = Site.objects.filter(code=code).first()
        if site is None:
            site = Site(code=code, name=name)
            services.save_with_audit(site, author=admin, reason=DEMO_REASON)
        sites[code] = site

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
        _load_safety(participant, admin)
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
