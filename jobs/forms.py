"""The upload form of an import from the browser: the file, what it holds, and --update."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from jobs.models import ImportKind
from trialsite.models import Study
from trialsite.validators import validate_single_line_text

#: The largest file taken (about 100,000 visit rows); a larger one is imported by the command.
MAX_FILE_BYTES = 50 * 1024 * 1024


def decode_import_file(data: bytes, file_name: str) -> str:
    """Return the text of an uploaded import file, read as the commands read one
    (trialsite.imports.read_import_file): UTF-8, with or without a byte order mark."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The command's message, for the same mistake.
        raise ValidationError(
            _("%(file)s is not UTF-8 text (byte %(position)d); save it as CSV UTF-8."),
            code="encoding",
            params={"file": file_name, "position": error.start + 1},
        ) from error
    if "\x00" in text:
        raise ValidationError(
            _("%(file)s is not a CSV file (it holds NUL characters); save it as CSV UTF-8."),
            code="binary",
            params={"file": file_name},
        )
    return text


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("CSV file (UTF-8)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    update = forms.BooleanField(
        label=_("Change existing records"),
        required=False,
        help_text=_(
            "Without it, a row for a record that already exists is a problem, and nothing is "
            "changed (the commands' --update)."
        ),
    )
    study = forms.ModelChoiceField(label=_("Study"), queryset=Study.objects.order_by("name"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        studies = list(Study.objects.order_by("name")[:2])
        #: The only study, when there is nothing to choose.
        self.only_study = studies[0] if len(studies) == 1 else None
        if self.only_study is not None:
            del self.fields["study"]

    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean() or {}
        if self.only_study is not None:
            cleaned_data["study"] = self.only_study
        return cleaned_data

    def clean_file(self) -> tuple[str, str]:
        """Return the file's name and text."""
        upload: UploadedFile = self.cleaned_data["file"]
        name = upload.name or "upload.csv"
        validate_single_line_text(name)
        if upload.size is not None and upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                _("%(file)s is larger than %(megabytes)d MB; import it with the command."),
                code="too_large",
                params={"file": name, "megabytes": MAX_FILE_BYTES // (1024 * 1024)},
            )
        return name, decode_import_file(upload.read(), name)
