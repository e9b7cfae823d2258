"""Template filters for clinical values: translated reasons, outcome badges, doses."""

from decimal import Decimal

from django import template
from django.utils.translation import gettext

from responses.scoring.common import Outcome
from trialsite.models import NOT_DONE

register = template.Library()

OUTCOME_BADGES = {
    Outcome.RESPONDER.value: "text-bg-success",
    Outcome.NON_RESPONDER.value: "text-bg-danger",
    Outcome.NOT_EVALUABLE.value: "text-bg-secondary",
}


@register.filter
def reason(result) -> str:
    """Translate a stored result's reason from its parts."""
    return "; ".join(gettext(template_) % params for template_, params in result.reason_parts)


@register.filter
def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGES.get(outcome, "text-bg-light")


@register.filter
def translate(message: str) -> str:
    """Translate a message marked with gettext_noop in the scoring module."""
    return gettext(message) if message else ""


@register.filter
def dose(cells_per_kg: int | None) -> str:
    """Show a dose as the protocol writes it: 100000 -> "1 x10^5"."""
    if cells_per_kg is None:
        return ""
    mantissa = (Decimal(cells_per_kg) / Decimal(100_000)).normalize()
    return f"{mantissa:f} x10^5"


@register.filter
def signed(value) -> str:
    """Show a change with its sign: -6, +2, 0; -0.50, +0.30."""
    if value is None:
        return ""
    return f"+{value}" if value > 0 else f"{value}"


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


@register.filter
def is_not_done(value: object) -> bool:
    """Say whether a visit form's answer is marked not done ("ND")."""
    return value == NOT_DONE
