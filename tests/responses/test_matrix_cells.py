"""The response matrix's cells, drawn in Python (responses/templatetags/matrix_cells.py): the
total and badge, and a tooltip with the components the matrix's endpoint has."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from django.test.html import parse_html
from django.utils import translation

from responses.reports import matrix_cell_labels
from responses.selectors.matrix import MatrixCell, ResponseMatrix
from responses.templatetags.matrix_cells import matrix_cell

SRI4 = ResponseMatrix(endpoint="sri4", state_at_visit=False, columns=(), rows=())
BICLA = ResponseMatrix(endpoint="bicla", state_at_visit=False, columns=(), rows=())
LLDAS = ResponseMatrix(endpoint="lldas", state_at_visit=True, columns=(), rows=())

M3 = MatrixCell(
    visit_date=date(2026, 5, 10),
    study_day=98,
    sledai_total=4,
    sledai_not_done=False,
    pga=Decimal("0.50"),
    outcome="responder",
    sledai_change=-6,
    new_bilag_a=0,
    new_bilag_b=1,
    pga_change=Decimal("-0.50"),
    bilag_not_improved=None,
    prednisolone_mg=None,
    treatment_failure=False,
    reason_parts=(("SLEDAI-2K fell by 6 <of 10>", {}),),
    follow_up_column=True,
)
URL = "/participants/7/?a=1&b=2"


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


def markup(cell: MatrixCell, matrix: ResponseMatrix) -> str:
    return matrix_cell(cell, URL, matrix, matrix_cell_labels())


def render(cell: MatrixCell, matrix: ResponseMatrix) -> object:
    return parse_html(markup(cell, matrix))


def test_the_tooltip_and_the_link_are_escaped() -> None:
    quoted = replace(M3, reason_parts=(('a "quoted" <b>reason</b> & more', {}),))

    html = markup(quoted, SRI4)

    assert '&#10;a &quot;quoted&quot; &lt;b&gt;reason&lt;/b&gt; &amp; more">' in html
    assert 'href="/participants/7/?a=1&amp;b=2"' in html


def test_an_sri_responder_shows_its_changes_from_baseline() -> None:
    assert render(M3, SRI4) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-responder" tabindex="0"'
        ' title="2026-05-10 (day 98)&#10;SLEDAI-2K change: -6&#10;new BILAG A: 0, new BILAG B: 1'
        "&#10;PGA change: -0.50&#10;treatment failure: no"
        '&#10;SLEDAI-2K fell by 6 &lt;of 10&gt;">'
        '<a href="/participants/7/?a=1&amp;b=2">4</a>'
        ' <span class="badge outcome-badge outcome-badge-responder">R</span></td>'
    )


def test_a_bicla_cell_adds_the_systems_not_improved_and_a_missing_value_is_a_dash() -> None:
    non_responder = replace(M3, outcome="non-responder", bilag_not_improved=1, sledai_change=None)

    assert render(non_responder, BICLA) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-non-responder" tabindex="0"'
        ' title="2026-05-10 (day 98)&#10;SLEDAI-2K change: \N{EN DASH}'
        "&#10;new BILAG A: 0, new BILAG B: 1"
        "&#10;BILAG A or B not improved: 1&#10;PGA change: -0.50&#10;treatment failure: no"
        '&#10;SLEDAI-2K fell by 6 &lt;of 10&gt;">'
        '<a href="/participants/7/?a=1&amp;b=2">4</a>'
        ' <span class="badge outcome-badge outcome-badge-non-responder">NR</span></td>'
    )


def test_a_state_at_the_visit_shows_the_dose_not_the_changes() -> None:
    in_lldas = replace(M3, prednisolone_mg=Decimal("7.50"), treatment_failure=None)

    assert render(in_lldas, LLDAS) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-responder" tabindex="0"'
        ' title="2026-05-10 (day 98)&#10;prednisolone-equivalent dose (mg/day): 7.50'
        '&#10;treatment failure: maybe&#10;SLEDAI-2K fell by 6 &lt;of 10&gt;">'
        '<a href="/participants/7/?a=1&amp;b=2">4</a>'
        ' <span class="badge outcome-badge outcome-badge-responder">R</span></td>'
    )


def test_a_baseline_visit_shows_its_pga_and_no_badge() -> None:
    baseline = replace(
        M3,
        outcome=None,
        follow_up_column=False,
        study_day=-3,
        sledai_total=None,
        sledai_not_done=True,
        pga="ND",
    )

    assert render(baseline, SRI4) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-baseline" tabindex="0"'
        ' title="2026-05-10 (day -3)&#10;PGA: ND">'
        '<a href="/participants/7/?a=1&amp;b=2">ND</a></td>'
    )


def test_a_follow_up_visit_not_after_baseline_is_not_evaluable_and_says_why() -> None:
    before_baseline = replace(M3, outcome=None, study_day=None, sledai_total=None, pga=None)

    assert render(before_baseline, SRI4) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-baseline" tabindex="0"'
        ' title="2026-05-10&#10;PGA: \N{EN DASH}'
        '&#10;visit not dated after the baseline visit, so not compared">'
        '<a href="/participants/7/?a=1&amp;b=2">\N{EN DASH}</a>'
        ' <span class="badge outcome-badge outcome-badge-not-evaluable">NE</span></td>'
    )


def test_zero_is_a_value_not_a_dash() -> None:
    zeros = replace(
        M3,
        study_day=0,
        sledai_total=0,
        sledai_change=0,
        new_bilag_a=0,
        new_bilag_b=0,
        pga_change=Decimal("0.00"),
        bilag_not_improved=0,
        treatment_failure=True,
    )

    assert render(zeros, BICLA) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-responder" tabindex="0"'
        ' title="2026-05-10 (day 0)&#10;SLEDAI-2K change: 0&#10;new BILAG A: 0, new BILAG B: 0'
        "&#10;BILAG A or B not improved: 0&#10;PGA change: 0.00&#10;treatment failure: yes"
        '&#10;SLEDAI-2K fell by 6 &lt;of 10&gt;">'
        '<a href="/participants/7/?a=1&amp;b=2">0</a>'
        ' <span class="badge outcome-badge outcome-badge-responder">R</span></td>'
    )
    no_dose = replace(M3, prednisolone_mg=Decimal("0.00"))
    assert "prednisolone-equivalent dose (mg/day): 0.00&#10;" in markup(no_dose, LLDAS)


def test_a_not_evaluable_visit_is_marked_so() -> None:
    not_evaluable = replace(M3, outcome="not evaluable")

    html = markup(not_evaluable, SRI4)

    assert 'class="text-center text-nowrap matrix-cell outcome-not-evaluable"' in html
    assert '<span class="badge outcome-badge outcome-badge-not-evaluable">NE</span>' in html


def test_a_state_at_the_visit_without_a_result_shows_the_pga() -> None:
    no_result = replace(M3, outcome=None, follow_up_column=False)

    assert render(no_result, LLDAS) == parse_html(
        '<td class="text-center text-nowrap matrix-cell outcome-baseline" tabindex="0"'
        ' title="2026-05-10 (day 98)&#10;PGA: 0.50">'
        '<a href="/participants/7/?a=1&amp;b=2">4</a></td>'
    )


def test_a_cell_reads_in_chinese() -> None:
    with translation.override("zh-hans"):
        html = markup(replace(M3, treatment_failure=None), SRI4)
        words = [
            translation.gettext("day"),
            translation.gettext("SLEDAI-2K change"),
            translation.gettext("treatment failure"),
            translation.pgettext("responder", "R"),
        ]
        maybe = translation.gettext("yes,no,maybe").split(",")[2]

    assert words[0] != "day"  # the catalogue has them
    assert f"({words[0]} 98)" in html
    assert f"&#10;{words[1]}: -6&#10;" in html
    assert f"&#10;{words[2]}: {maybe}&#10;" in html
    assert f">{words[3]}</span>" in html
