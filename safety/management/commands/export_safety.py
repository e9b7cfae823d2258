import io
from datetime import date

from django.utils.translation import gettext_lazy

from responses.management.base import ExportCommand
from safety.exports import write_safety_csv
from safety.selectors import safety_summary
from trialsite.models import Participant, Study


class Command(ExportCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Export safety.csv as of the data cut: one row per CRS or ICANS episode with onset on or "
        "before it, of the participants infused by then, with its onset day, duration and "
        "ASTCT grade (an episode resolved after the cut is ongoing)."
    )

    def export(
        self, buffer: io.StringIO, study: Study, as_of: date, options: dict[str, object]
    ) -> int:
        summary = safety_summary(participants=Participant.objects.filter(study=study), as_of=as_of)
        episodes = summary.episodes
        write_safety_csv(buffer, episodes)
        return len(episodes)
