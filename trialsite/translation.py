"""The names kept in English and Chinese (django-modeltranslation): the sites' and the visits'.

Each registered field gets a field per language of settings.LANGUAGES (name_en, name_zh_hans),
edited side by side in admin. Reading ``name`` gives the reader's language, or English where the
Chinese name is left empty; assigning ``name`` writes the current language's field, so code that
writes a name writes ``name_en`` (or ``name_zh_hans``) by name.

django-modeltranslation reads this module when the apps are ready, after every model is defined;
the audit history of these models is made here too, after their translated fields, so that each
version keeps the Chinese name as well.
"""

from typing import Any

from django.db import models
from modeltranslation.translator import TranslationOptions, register
from simple_history import register as register_history
from simple_history.models import HistoricalObjectDescriptor, HistoricalRecords

from trialsite.models import NamedInTwoLanguages, Site, VisitDefinition

#: The English name is the ``name`` column itself (NamedInTwoLanguages.save), kept in the
#: history as before; a copy of it there would list every English change twice.
HISTORY_EXCLUDED_FIELDS = ["name_en"]


@register(Site)
class SiteTranslationOptions(TranslationOptions):
    fields = ("name",)
    required_languages = ("en",)


@register(VisitDefinition)
class VisitDefinitionTranslationOptions(TranslationOptions):
    fields = ("name",)
    required_languages = ("en",)


class _VersionWithEnglishName(HistoricalObjectDescriptor):
    """A version as a row (``history_object``), with the English name it had."""

    def __get__(self, version: Any, owner: type) -> Any:
        row = super().__get__(version, owner)
        if version is not None:
            row.name_en = version.name
        return row


class EnglishNameHistory(HistoricalRecords):
    """The audit history of a row with translated names. A version rebuilt as a row (admin's
    view of an old version) takes its English name from the version's name column: simple_history
    would fill a field the history leaves out (name_en) from the row as it is now."""

    def get_extra_fields(self, model: type[models.Model], fields: dict[str, Any]) -> dict[str, Any]:
        extra = super().get_extra_fields(model, fields)
        as_now = extra["instance"].fget

        def instance(version: Any) -> Any:
            row = as_now(version)
            row.name_en = version.name
            return row

        extra["instance"] = property(instance)
        extra["history_object"] = _VersionWithEnglishName(model, self.fields_included(model))
        return extra


def audit_translated_history(model: type[NamedInTwoLanguages]) -> None:
    """Keep the audit history of a model with translated names with the options of
    trialsite.models.audit_history: author, time and reason of each change, kept when the row is
    deleted."""
    register_history(
        model,
        app="trialsite",
        records_class=EnglishNameHistory,
        excluded_fields=HISTORY_EXCLUDED_FIELDS,
        history_change_reason_field=models.TextField(null=True),
        cascade_delete_history=False,
    )


audit_translated_history(Site)
audit_translated_history(VisitDefinition)
