"""Template filters for clinical values (translated reasons, status and outcome badges, doses),
and the joinlines tag for long template lines."""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Protocol, TypeVar, cast

from django import template
from django.template.base import Node, NodeList, Parser, TextNode, Token
from django.template.context import Context
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext_lazy

from responses.models import STATE_ENDPOINTS
from responses.scoring.common import TRANSLATED_PARAMS, Outcome
from responses.scoring.pga import format_pga
from trialsite.models import NOT_DONE, ParticipantStatus, VisitStatus, dose_label, dose_mantissa
from trialsite.selectors import DUE, MISSED, OUT_OF_WINDOW, OVERDUE

register = template.Library()

#: The outcome badges' colours (site.css: WCAG AA contrast, kept when printed).
OUTCOME_BADGES = {
    Outcome.RESPONDER.value: "outcome-badge-responder",
    Outcome.NON_RESPONDER.value: "outcome-badge-non-responder",
    Outcome.NOT_EVALUABLE.value: "outcome-badge-not-evaluable",
}

PARTICIPANT_STATUS_BADGES = {
    ParticipantStatus.WITHDRAWN.value: "text-bg-secondary",
    ParticipantStatus.INFUSED.value: "text-bg-primary",
    ParticipantStatus.NOT_INFUSED.value: "text-bg-light",
}

#: The badge of a scheduled visit's window status; the others (upcoming, not scheduled) are light.
WINDOW_STATUS_BADGES = {
    DUE: "text-bg-info",
    OVERDUE: "text-bg-danger",
    MISSED: "text-bg-dark",
    OUT_OF_WINDOW: "text-bg-warning",
}

#: A line break of the template's own text and the indentation after it.
TEMPLATE_LINE_BREAK = re.compile(r"\n\s*")

#: A value of the mapping given to get_item.
V = TypeVar("V")


class HasReasonParts(Protocol):
    """A result with its reason as (template, parameters) pairs: a stored EndpointResult, or a row
    of a report (responses.selectors' NotEvaluable, MatrixCell)."""

    @property
    def reason_parts(self) -> Iterable[tuple[str, dict]]: ...


@register.filter
def reason(result: HasReasonParts) -> str:
    """Translate a stored result's reason from its parts."""
    return "; ".join(reason_list(result))


@register.filter
def reason_list(result: HasReasonParts) -> list[str]:
    """Translate a stored result's reason, one condition per item."""
    return [
        gettext(template_) % translated_params(params) for template_, params in result.reason_parts
    ]


def translated_params(params: dict) -> dict:
    """Translate the reason parameters that are marked for translation (a system, a descriptor)."""
    return {
        key: gettext(value) if key in TRANSLATED_PARAMS else value for key, value in params.items()
    }


#: How the outcome of a state at a visit (LLDAS, DORIS remission) reads: in it or not.
STATE_OUTCOME_LABELS = {
    Outcome.RESPONDER.value: pgettext_lazy("in LLDAS or DORIS remission", "yes"),
    Outcome.NON_RESPONDER.value: pgettext_lazy("in LLDAS or DORIS remission", "no"),
    Outcome.NOT_EVALUABLE.value: pgettext_lazy("in LLDAS or DORIS remission", "not evaluable"),
}


class HasOutcome(Protocol):
    """A stored EndpointResult, or a report's row of one (responses.selectors' ResultAt)."""

    endpoint: str
    outcome: str | None


@register.filter
def outcome_label(result: HasOutcome) -> str:
    """Name a result's outcome: yes or no for a state at the visit, else the outcome."""
    if result.outcome is None:
        return ""
    return endpoint_outcome(result.outcome, result.endpoint)


@register.filter
def endpoint_outcome(outcome: str | None, endpoint: str) -> str:
    """Name an endpoint's outcome as outcome_label does; "no result" when there is none."""
    if outcome is None:
        return gettext("no result")
    if endpoint in STATE_ENDPOINTS:
        return str(STATE_OUTCOME_LABELS[outcome])
    return gettext(outcome)


@register.filter
def outcome_badge(outcome: str) -> str:
    return OUTCOME_BADGES.get(outcome, OUTCOME_BADGES[Outcome.NOT_EVALUABLE.value])


@register.filter
def participant_status_badge(status: str) -> str:
    return PARTICIPANT_STATUS_BADGES.get(status, "text-bg-light")


@register.filter
def window_status_badge(status: str) -> str:
    return WINDOW_STATUS_BADGES.get(status, "text-bg-light")


#: The colour of each record status, as REDCap users read them: grey not started, yellow in
#: progress, blue complete, teal verified, green signed, dark locked.
RECORD_STATUS_BADGES = {
    VisitStatus.NOT_STARTED: "text-bg-light border",
    VisitStatus.IN_PROGRESS: "text-bg-warning",
    VisitStatus.COMPLETE: "text-bg-primary",
    VisitStatus.VERIFIED: "text-bg-info",
    VisitStatus.SIGNED: "text-bg-success",
    VisitStatus.LOCKED: "text-bg-dark",
    VisitStatus.MISSED: "text-bg-secondary",
}


@register.filter
def record_status_badge(status: str) -> str:
    return RECORD_STATUS_BADGES.get(VisitStatus(status), "text-bg-light")


#: A symbol for each record status, so the dashboard is read without telling colours apart.
RECORD_STATUS_SYMBOLS = {
    VisitStatus.NOT_STARTED: "○",
    VisitStatus.IN_PROGRESS: "◐",
    VisitStatus.COMPLETE: "●",
    VisitStatus.VERIFIED: "✓",
    VisitStatus.SIGNED: "✔✔",
    VisitStatus.LOCKED: "■",
    VisitStatus.MISSED: "✕",
}


@register.filter
def record_status_symbol(status: str) -> str:
    return RECORD_STATUS_SYMBOLS[VisitStatus(status)]


class JoinLinesNode(Node):
    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: Context) -> str:
        return self.nodelist.render(context)


@register.tag
def joinlines(parser: Parser, token: Token) -> JoinLinesNode:
    """Join the lines of the template text up to {% endjoinlines %}: each line break, with the
    indentation after it, is dropped from the template's own text, never from a value shown.

    For text whose spacing shows, written over several lines: a tooltip (an attribute, where a
    line break wanted in the output is written &#10;), a badge's label.
    """
    nodelist = parser.parse(("endjoinlines",))
    parser.delete_first_token()
    for node in cast(list[TextNode], nodelist.get_nodes_by_type(TextNode)):
        node.s = TEMPLATE_LINE_BREAK.sub("", node.s)
    return JoinLinesNode(nodelist)


@register.filter
def translate(message: str) -> str:
    """Translate a message marked with gettext_noop in the scoring module."""
    return gettext(message) if message else ""


@register.filter
def dose(cells_per_kg: int | None) -> SafeString | str:
    """Show a dose with a real superscript: 100000 -> "1 (times) 10<sup>5</sup>" (empty for
    None)."""
    if cells_per_kg is None:
        return ""
    return format_html("{} \N{MULTIPLICATION SIGN} 10<sup>5</sup>", dose_mantissa(cells_per_kg))


#: A dose as plain text, where markup cannot go (a select's options): see models.dose_label.
dose_text = register.filter("dose_text", dose_label)


@register.filter
def signed(value: int | Decimal | None) -> str:
    """Show a change with its sign: -6, +2, 0; -0.50, +0.30."""
    if value is None:
        return ""
    return f"+{value}" if value > 0 else f"{value}"


@register.filter
def pga_value(value: Decimal | None) -> str:
    """Show a PGA value or limit with two decimals (empty for None)."""
    return format_pga(value) if value is not None else ""


@register.filter
def get_item(mapping: dict[str, V], key: str) -> V | None:
    return mapping.get(key)


@register.filter
def is_not_done(value: object) -> bool:
    """Say whether a visit form's answer is marked not done ("ND")."""
    return value == NOT_DONE
