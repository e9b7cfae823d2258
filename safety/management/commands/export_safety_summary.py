import io
from datetime import date

from django.utils.translation import gettext_lazy

from responses.management.base import ExportCommand
from safety.exports import write_safety_summary_csv
from safety.selectors import safety_summary
from trialsite.models import Participant, Study


class Command(ExportCommand):
    help = gettext_lazy(  # type: ignore[assignment]  # django-stubs: str
        "Export safety_summary.csv as of the data cut: for CRS then ICANS and each worst grade "
        "0 to 5, the participants infused by the cut whose worst episode has that grade, the "
        "infused, and the percent."
    )

    def export(
        self, buffer: io.StringIO, study: Study, as_of: date, options: dict[str, object]
    ) -> int:
        summary = safety_summary(participants=Participant.objects.filter(study=study), as_of=as_of)
        write_safety_summary_csv(buffer, summary.counts)
        return len(summary.counts)
