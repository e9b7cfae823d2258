"""The raw SQL reads of safety.csv's data and of the audit trail's, set beside their downloads as
responses.selectors.raw_reads sets its reads beside the response reports: a SELECT of the rows
the export uses, fetched whole (``fetchall``), with nothing built from them.

The episode tables are looked up by name: trialsite imports neither the safety app nor the
medications app.
"""

from datetime import date

from django.apps import apps
from django.db import connection
from django.db.models import Model
from simple_history.utils import get_history_manager_for_model

from trialsite.models import Participant, Site, Study


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def read_safety(study: Study, as_of: date) -> int:
    """Read what safety.csv lists: each participant infused by the cut (ID, site, dose,
    infusion date) with their CRS and ICANS episodes starting by the cut (onset, resolution,
    grade); return how many rows."""
    selects = [
        f"""
        SELECT p.id, p.participant_id, s.code, p.dose_cells_per_kg, p.infusion_date,
               e.onset_date, e.resolution_date, e.grade
        FROM {_table(Participant)} p
        JOIN {_table(Site)} s ON s.id = p.site_id
        LEFT JOIN {_table(model)} e ON e.participant_id = p.id AND e.onset_date <= %s
        WHERE p.study_id = %s AND p.enrollment_date <= %s AND p.infusion_date <= %s
        """
        for model in (
            apps.get_model("safety", "CrsEpisode"),
            apps.get_model("safety", "IcansEpisode"),
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), [as_of, study.pk, as_of, as_of] * len(selects))
        return len(cursor.fetchall())


def read_audit_trail() -> int:
    """Read every row of every audit history (the whole trial's trail, as a data manager exports
    it), each table whole; return how many rows."""
    rows = 0
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if hasattr(model._meta, "simple_history_manager_attribute"):
                history = get_history_manager_for_model(model).model
                cursor.execute(f"SELECT * FROM {_table(history)}")
                rows += len(cursor.fetchall())
    return rows
