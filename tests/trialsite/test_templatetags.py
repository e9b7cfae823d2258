"""The template tags and filters of trialsite/templatetags/trial.py."""

from django.template import Context, Template

from trialsite.models import ParticipantStatus
from trialsite.templatetags.trial import (
    dose,
    dose_text,
    participant_status_badge,
    window_status_badge,
)


def render(source: str, **context: object) -> str:
    return Template("{% load trial %}" + source).render(Context(context))


def test_joinlines_drops_the_templates_own_line_breaks_never_a_value_shown() -> None:
    source = (
        '<span title="{% joinlines %}\n'
        "    {{ first }}\n"
        "    {% if second %} and {{ second }}{% endif %}\n"
        '{% endjoinlines %}">x</span>'
    )

    shown = render(source, first="line one\nline two", second="B")

    assert shown == '<span title="line one\nline two and B">x</span>'


def test_status_badges_colour_each_status_and_default_to_light() -> None:
    assert participant_status_badge(ParticipantStatus.WITHDRAWN) == "text-bg-secondary"
    assert participant_status_badge(ParticipantStatus.INFUSED) == "text-bg-primary"
    assert participant_status_badge(ParticipantStatus.NOT_INFUSED) == "text-bg-light"
    assert window_status_badge("overdue") == "text-bg-danger"
    assert window_status_badge("upcoming") == "text-bg-light"


def test_dose_is_shown_as_the_protocol_writes_it() -> None:
    # On pages a real superscript; where markup cannot go (a select's options) plain text.
    assert dose(100_000) == "1 \N{MULTIPLICATION SIGN} 10<sup>5</sup>"
    assert dose(250_000) == "2.5 \N{MULTIPLICATION SIGN} 10<sup>5</sup>"
    assert dose(30_000) == "0.3 \N{MULTIPLICATION SIGN} 10<sup>5</sup>"
    assert dose(None) == ""
    assert dose_text(30_000) == "0.3 \N{MULTIPLICATION SIGN} 10\N{SUPERSCRIPT FIVE}"
    assert dose_text(None) == ""
