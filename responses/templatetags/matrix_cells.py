"""The response matrix's cells, drawn in Python.

A page of the matrix has hundreds of cells. Drawn by an include apiece, they were four fifths of
the page's time. ``matrix_cell`` writes the same markup: a recorded visit's SLEDAI-2K total
linking to the participant, and the outcome badge (R, NR or NE) of the matrix's endpoint. Its
tooltip gives the date and study day, then the outcome's components (those the endpoint has:
the dose for LLDAS and DORIS, the changes from baseline for the others), or the PGA at a visit not
compared with baseline; each line of it after the first starts with a line break (&#10;).
"""

from decimal import Decimal

from django import template
from django.template import defaultfilters
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString

from responses.models import Endpoint
from responses.scoring.common import Outcome
from responses.selectors.matrix import MatrixCell, ResponseMatrix
from trialsite.templatetags.trial import outcome_badge, reason, signed

register = template.Library()

#: What a cell shows for a value it does not have.
NO_VALUE = "\N{EN DASH}"
#: The label (of responses.reports.matrix_cell_labels) of each outcome's badge; any other is NE.
BADGE_LABELS = {Outcome.RESPONDER.value: "responder", Outcome.NON_RESPONDER.value: "non_responder"}


def _or_dash(value: int | Decimal | str | None) -> str:
    return NO_VALUE if value is None else str(localize(value))


def _change(value: int | Decimal | None) -> str:
    """A change from baseline with its sign: +2, 0, -0.50."""
    return NO_VALUE if value is None else signed(value)


def _tooltip(cell: MatrixCell, matrix: ResponseMatrix, labels: dict[str, str]) -> list[str]:
    when = defaultfilters.date(cell.visit_date, "Y-m-d")
    if cell.study_day is not None:
        when += f" ({labels['day']} {localize(cell.study_day)})"
    lines = [when]
    has_outcome = cell.outcome is not None
    if has_outcome and matrix.state_at_visit:
        lines += [
            f"{labels['prednisolone']}: {_or_dash(cell.prednisolone_mg)}",
            f"{labels['treatment_failure']}: {defaultfilters.yesno(cell.treatment_failure)}",
            reason(cell),
        ]
    elif has_outcome:
        lines += [
            f"{labels['sledai_change']}: {_change(cell.sledai_change)}",
            f"{labels['new_bilag_a']}: {_or_dash(cell.new_bilag_a)},"
            f" {labels['new_bilag_b']}: {_or_dash(cell.new_bilag_b)}",
        ]
        if matrix.endpoint == Endpoint.BICLA:
            lines.append(f"{labels['bilag_not_improved']}: {_or_dash(cell.bilag_not_improved)}")
        lines += [
            f"{labels['pga_change']}: {_change(cell.pga_change)}",
            f"{labels['treatment_failure']}: {defaultfilters.yesno(cell.treatment_failure)}",
            reason(cell),
        ]
    else:
        lines.append(f"PGA: {_or_dash(cell.pga)}")
        if cell.follow_up_column:
            lines.append(labels["not_compared"])
    return lines


def _badge(cell: MatrixCell, labels: dict[str, str]) -> SafeString:
    if cell.outcome is None and not cell.follow_up_column:
        return SafeString("")
    outcome = Outcome.NOT_EVALUABLE.value if cell.outcome is None else cell.outcome
    label = labels[BADGE_LABELS.get(outcome, "not_evaluable")]
    return format_html(
        ' <span class="badge outcome-badge {}">{}</span>', outcome_badge(outcome), label
    )


@register.simple_tag
def matrix_cell(
    cell: MatrixCell, url: str, matrix: ResponseMatrix, labels: dict[str, str]
) -> SafeString:
    """A recorded visit's cell: its SLEDAI-2K total (ND when a descriptor was not done) linking
    to ``url``, its outcome badge and its tooltip, in the words of ``labels``
    (responses.reports.matrix_cell_labels, translated once a page)."""
    if cell.sledai_total is not None:
        total = str(localize(cell.sledai_total))
    else:
        total = "ND" if cell.sledai_not_done else NO_VALUE
    return format_html(
        '<td class="text-center text-nowrap matrix-cell outcome-{}" tabindex="0" title="{}">'
        '<a href="{}">{}</a>{}</td>',
        defaultfilters.slugify("baseline" if cell.outcome is None else cell.outcome),
        SafeString(
            "&#10;".join(conditional_escape(line) for line in _tooltip(cell, matrix, labels))
        ),
        url,
        total,
        _badge(cell, labels),
    )
