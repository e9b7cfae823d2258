"""The exports a job writes: for each kind, the permission it needs, its file's name, the
function that writes it and the rights that decide what it holds; and the sites whose data a
file holds. Its author must still see those sites and hold those rights to download it."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User

from jobs.models import ExportJob, ExportKind
from trialsite.audit_export import audit_trail_csv
from trialsite.history import trail_rights
from trialsite.imports import Progress
from trialsite.selectors import sites_visible_to, user_sees_all_sites


@dataclass(frozen=True)
class Exporter:
    #: The permission needed to ask for the export and to download it.
    permission: str
    #: The file's name, "{date}" being the local date it was asked for.
    file_name: str
    #: Write the CSV text of what the user may see (in English, as every CSV file of the site).
    write: Callable[[User, Progress | None], str]
    #: The rights that decide what the file holds besides the sites (trialsite.history).
    rights: Callable[[], list[str]]


EXPORTERS: dict[str, Exporter] = {
    ExportKind.AUDIT_TRAIL: Exporter(
        "trialsite.export_audit_trail", "audit-trail_{date}.csv", audit_trail_csv, trail_rights
    ),
}


def site_scope(user: User) -> list[int] | None:
    """Return the sites whose data an export written for the user holds: None for every site
    (with the study's administration), else their ids in order."""
    if user_sees_all_sites(user):
        return None
    return sorted(sites_visible_to(user).values_list("pk", flat=True))


def rights_held(user: User, kind: str) -> list[str]:
    """Return the rights the user holds of those that decide what an export's file holds."""
    return [right for right in EXPORTERS[kind].rights() if user.has_perm(right)]


def may_download(user: User, job: ExportJob) -> bool:
    """Say whether the user may download the export's file: its author, who still holds its
    permission and the rights it was written with (ExportJob.rights), and still sees every site
    whose data it holds."""
    if job.created_by_id != user.pk or not user.has_perms(
        [EXPORTERS[job.kind].permission, *job.rights]
    ):
        return False
    if user_sees_all_sites(user):
        return True
    seen = set(sites_visible_to(user).values_list("pk", flat=True))
    return job.site_ids is not None and set(job.site_ids) <= seen
