"""The default study, its visit schedule and the roles that the migrations create, and the
records that hang on a visit."""

import pytest
from django.contrib.auth.models import Group
from django.db import models

from responses.scoring.bilag import BILAG_SYSTEMS
from responses.scoring.sledai import SLEDAI_FIELDS
from trialsite.history import RECORD_NAMES
from trialsite.models import (
    VISIT_RECORD_MODELS,
    BilagAssessment,
    DataQuery,
    SledaiAssessment,
    Visit,
    VisitDefinition,
    VisitSignOff,
)

# interchange.md, "Default visit schedule": code, target study day, window low, window high.
SPEC_SCHEDULE = [
    ("SCR", -28, -42, -8),
    ("BL", -7, -14, -1),
    ("D0", 0, 0, 0),
    ("D7", 7, 5, 9),
    ("D14", 14, 11, 17),
    ("M1", 28, 21, 35),
    ("M2", 56, 49, 63),
    ("M3", 90, 76, 104),
    ("M6", 180, 166, 194),
    ("M9", 270, 249, 291),
    ("M12", 365, 335, 395),
    ("UNS", None, None, None),
]


def test_default_schedule_is_the_interchange_schedule_in_order(study):
    definitions = VisitDefinition.objects.filter(study=study).order_by("order")
    assert [(d.code, d.target_day, d.window_low, d.window_high) for d in definitions] == (
        SPEC_SCHEDULE
    )
    assert [d.repeatable for d in definitions] == [False] * 11 + [True]


def test_default_study_settings(study):
    assert study.baseline_visit.code == "BL"
    assert study.primary_visit.code == "M3"
    assert study.sledai_lookback_days == 10


def test_sledai_model_has_the_24_descriptor_fields_in_spec_order():
    answer_fields = [
        f.name for f in SledaiAssessment._meta.get_fields() if f.name in set(SLEDAI_FIELDS)
    ]
    assert answer_fields == list(SLEDAI_FIELDS)
    assert len(answer_fields) == 24


def test_bilag_model_has_the_nine_systems_in_spec_order():
    systems = [f.name for f in BilagAssessment._meta.get_fields() if f.name in set(BILAG_SYSTEMS)]
    assert systems == list(BILAG_SYSTEMS)


@pytest.mark.parametrize(
    ("role", "can_change_participants", "sees_all_sites"),
    [
        ("Coordinator", True, False),
        ("Investigator", True, False),
        ("Monitor", False, True),
        ("Data manager", True, True),
    ],
)
def test_roles_exist_with_their_permissions(db, role, can_change_participants, sees_all_sites):
    codenames = set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))
    assert "view_participant" in codenames
    assert ("change_participant" in codenames) is can_change_participants
    assert ("view_all_sites" in codenames) is sees_all_sites
    assert "delete_participant" not in codenames


def test_every_record_of_a_visit_is_deleted_with_it_and_shown_in_its_audit_trail():
    # A model that protects visits from deletion is a record of the visit's data (the audit
    # trail and form versions read its history), a sign-off or a query: the visit's deletion
    # removes each first (tests/trialsite/test_sign_offs.py deletes a verified, queried visit).
    protecting = {
        relation.related_model
        for relation in Visit._meta.related_objects
        if relation.on_delete is models.PROTECT
    }
    assert protecting == {*VISIT_RECORD_MODELS, VisitSignOff, DataQuery}
    assert set(RECORD_NAMES) == set(VISIT_RECORD_MODELS)
