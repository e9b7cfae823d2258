"""The fields of the visit entry form, drawn in Python.

The entry form is the page coordinators open most, and it has about 30 plain fields (labs, BILAG
systems, look-back window, reason for change), 34 reasons not done and 24 SLEDAI-2K descriptors.
Drawn by crispy-forms' per-field templates, an include per reason and a template loop per
descriptor's answer, they took half the page's time. ``bootstrap_field`` and ``not_done_reason``
write the same Bootstrap markup as crispy-forms' ``as_crispy_field``: label, widget
(``form-control`` or ``form-select``, ``is-invalid`` with its errors), errors and help text, each
linked to the widget by ``aria-describedby``. ``descriptor_answers`` writes a descriptor's answers
as inline radio buttons.
"""

from django import forms, template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def _widget(field: forms.BoundField, extra_class: str, described_by: list[str]) -> SafeString:
    base = "form-select" if isinstance(field.field.widget, forms.Select) else "form-control"
    classes = [field.field.widget.attrs.get("class", ""), base, extra_class]
    if field.errors:
        classes.append("is-invalid")
    attrs: dict[str, str | bool] = {"class": " ".join(name for name in classes if name)}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


def _errors(field: forms.BoundField) -> SafeString:
    if not field.errors:
        return SafeString("")
    return format_html(
        '<div id="{}_error" class="invalid-feedback">{}</div>',
        field.auto_id,
        format_html_join(
            "",
            '<p id="error_{}_{}"><strong>{}</strong></p>',
            ((number, field.auto_id, error) for number, error in enumerate(field.errors, 1)),
        ),
    )


@register.filter
def bootstrap_field(field: forms.BoundField) -> SafeString:
    """A field with its label, errors and help text, as ``as_crispy_field`` draws it."""
    described_by = [f"{field.auto_id}_helptext"] if field.help_text else []
    if field.errors:
        described_by.append(f"{field.auto_id}_error")
    required = field.field.required
    label = format_html(
        '<label for="{}" class="form-label{}">{}{}</label>',
        field.id_for_label,
        " requiredField" if required else "",
        field.label,
        SafeString('<span class="asteriskField">*</span>') if required else "",
    )
    help_text = (
        format_html(
            '<div id="{}_helptext" class="form-text">{}</div>', field.auto_id, field.help_text
        )
        if field.help_text
        else ""
    )
    return format_html(
        '<div id="div_{}" class="mb-3">{}{}{}{}</div>',
        field.auto_id,
        label,
        _widget(field, "", described_by),
        _errors(field),
        help_text,
    )


@register.simple_tag
def not_done_reason(field: forms.BoundField, marker: str, shown: object) -> SafeString:
    """The reason an answer was not done (``field``), for the answer named ``marker``: hidden
    unless the answer is marked not done (``shown``) or the reason has an error; visit_entry.js
    shows and hides it as the answer changes."""
    described_by = [f"{field.auto_id}_error"] if field.errors else []
    return format_html(
        '<div class="mt-1" data-not-done-for="{}"{}>'
        '<label class="form-label small mb-0" for="{}">{}</label>{}{}</div>',
        marker,
        "" if shown or field.errors else SafeString(" hidden"),
        field.id_for_label,
        field.label,
        _widget(field, "form-control-sm", described_by),
        _errors(field),
    )


@register.filter
def descriptor_answers(field: forms.BoundField) -> SafeString:
    """A SLEDAI-2K descriptor's answers as inline radio buttons, each carrying the descriptor's
    weight from its widget (visit_entry.js adds up the total as they change)."""
    return format_html_join(
        "\n",
        '<div class="form-check form-check-inline">\n'
        '<input class="form-check-input" type="radio" name="{}" id="{}" value="{}"'
        ' data-weight="{}"{}>\n<label class="form-check-label" for="{}">{}</label>\n</div>',
        (
            (
                radio.data["name"],
                radio.id_for_label,
                radio.data["value"],
                radio.data["attrs"]["data-weight"],
                SafeString(" checked") if radio.data["selected"] else "",
                radio.id_for_label,
                radio.choice_label,
            )
            for radio in field
        ),
    )
