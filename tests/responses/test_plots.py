"""Report plots: valid, accessible, deterministic SVG from plain data, empty data included."""

import dataclasses
import xml.etree.ElementTree as ET
from decimal import Decimal

import matplotlib
import pytest
from django.core.cache import cache

from responses import plots
from responses.selectors.cohort import CohortRow, MittRow
from responses.selectors.trajectories import BilagGrid, Trajectory, TrajectorySet, VisitMedian

SVG = "{http://www.w3.org/2000/svg}"

TRAJECTORIES = TrajectorySet(
    trajectories=(
        Trajectory("P-001", ((-7, Decimal(8)), (28, Decimal(4)), (90, Decimal(2)))),
        Trajectory("P-002", ((-7, Decimal(12)), (28, Decimal(10)), (90, Decimal(0)))),
        Trajectory("P-003", ((-7, Decimal(6)),)),
    ),
    medians=(
        VisitMedian("BL", -7, Decimal(8), 3),
        VisitMedian("M1", 28, Decimal(7), 2),
        VisitMedian("M3", 90, Decimal(1), 2),
    ),
)
EMPTY_TRAJECTORIES = TrajectorySet(trajectories=(), medians=())
OBSERVED = [
    CohortRow("M1", "Month 1", 6, 6, 2, Decimal("0.3333"), Decimal("0.0433"), Decimal("0.7772"),
              0),
    CohortRow("M3", "Month 3", 5, 5, 4, Decimal("0.8000"), Decimal("0.2836"), Decimal("0.9949"),
              1),
    CohortRow("M6", "Month 6", 0, 0, 0, None, None, None, 0),
]  # fmt: skip
MITT = [
    MittRow("M1", "Month 1", 35, 6, 2, 4, 0, 0, 0, 0, 0, Decimal("0.3333"), Decimal("0.0433"),
            Decimal("0.7772")),
    MittRow("M3", "Month 3", 104, 6, 4, 1, 0, 0, 1, 0, 0, Decimal("0.6667"), Decimal("0.2228"),
            Decimal("0.9567")),
    MittRow("M6", "Month 6", 194, 0, 0, 0, 0, 0, 0, 0, 6, None, None, None),
]  # fmt: skip
GRADES = ("B", "C", "E", "B", "E", "E", "E", "A", "E")
BASELINE = BilagGrid("BL", "Baseline", ("P-001", "P-002"), (GRADES, ("",) * 9))
MONTH_3 = BilagGrid("M3", "Month 3", ("P-001", "P-002"), (("D",) * 9, ("C",) * 9))


def parse(plot: plots.Plot) -> ET.Element:
    root = ET.fromstring(str(plot.svg))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert plot.title in root.get("aria-label")
    assert plot.title in root.find(f"{SVG}title").text
    return root


def texts(root: ET.Element) -> str:
    return " ".join(element.text or "" for element in root.iter(f"{SVG}text"))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: plots.sledai_plot(TRAJECTORIES),
            ["SLEDAI-2K over study day", "SLEDAI-2K total", "Study day (day 0 = CAR-T infusion)"],
        ),
        (
            lambda: plots.pga_plot(TRAJECTORIES),
            ["Physician Global Assessment over study day", "PGA (0 none to 3 severe)"],
        ),
        (
            lambda: plots.response_rate_plot(OBSERVED, MITT, "sri4"),
            ["SRI-4 response rate by visit", "Responders (%) with exact 95% CI", "4/5", "4/6"],
        ),
        (
            lambda: plots.bilag_heatmap(BASELINE, MONTH_3),
            ["BILAG-2004 grades at BL and M3", "Organ system", "Renal", "P-002"],
        ),
    ],
    ids=["sledai", "pga", "response-rate", "bilag"],
)
def test_plots_are_valid_svg_with_title_and_axis_labels(make, expected):
    plot = make()
    root = parse(plot)
    shown = texts(root)
    for text in expected:
        assert text in shown
    assert plot.description


def test_plot_descriptions_state_the_numbers():
    assert "median 1 at M3" in plots.sledai_plot(TRAJECTORIES).description
    rate = plots.response_rate_plot(OBSERVED, MITT, "sri4").description
    # 4 of 5: 80%, exact interval 0.2836-0.9949 rounded to whole percents.
    assert "M3: 4 of 5 (80%, 95% CI 28-99%)" in rate
    bilag = plots.bilag_heatmap(BASELINE, MONTH_3).description
    assert "BL: 1 systems graded A and 2 graded B in 1 participants" in bilag


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("bicla", ["BICLA response rate by visit", "Responders (%) with exact 95% CI"]),
        ("lldas", ["Participants in LLDAS by visit", "In LLDAS (%) with exact 95% CI"]),
        ("doris", ["Participants in DORIS remission by visit",
                   "In DORIS remission (%) with exact 95% CI"]),
    ],
)  # fmt: skip
def test_the_rate_plot_says_what_each_endpoint_counts(endpoint, expected):
    plot = plots.response_rate_plot(OBSERVED, MITT, endpoint)
    root = parse(plot)
    assert plot.title == expected[0]
    shown = texts(root)
    for text in [*expected, "4/5", "4/6"]:
        assert text in shown
    # 4 of 5: 80%, exact interval 0.2836-0.9949 rounded to whole percents.
    assert "M3: 4 of 5 (80%, 95% CI 28-99%)" in plot.description
    assert "No data for these filters" in texts(parse(plots.response_rate_plot([], [], endpoint)))


def test_plots_are_the_same_for_the_same_data():
    assert plots.sledai_plot(TRAJECTORIES).svg == plots.sledai_plot(TRAJECTORIES).svg
    first = plots.bilag_heatmap(BASELINE, MONTH_3).svg
    assert first == plots.bilag_heatmap(BASELINE, MONTH_3).svg


@pytest.mark.parametrize(
    "make",
    [
        lambda: plots.sledai_plot(EMPTY_TRAJECTORIES),
        lambda: plots.pga_plot(EMPTY_TRAJECTORIES),
        lambda: plots.response_rate_plot([], [], "sri4"),
        lambda: plots.response_rate_plot(OBSERVED[2:], MITT[2:], "sri4"),
        lambda: plots.bilag_heatmap(
            BilagGrid("BL", "Baseline", (), ()), BilagGrid("M3", "Month 3", (), ())
        ),
    ],
    ids=["sledai", "pga", "rate-no-rows", "rate-nothing-evaluable", "bilag"],
)
def test_plots_of_empty_data_say_there_is_no_data(make):
    root = parse(make())
    assert "No data for these filters" in texts(root)


def test_many_participants_are_drawn_as_one_image_and_stay_labelled():
    many = TrajectorySet(
        trajectories=tuple(
            Trajectory(f"P-{n:04d}", ((-7, Decimal(n % 20)), (90, Decimal(n % 7))))
            for n in range(plots.RASTERIZE_LINES_FROM)
        ),
        medians=(VisitMedian("BL", -7, Decimal(9), 150), VisitMedian("M3", 90, Decimal(3), 150)),
    )
    root = parse(plots.sledai_plot(many))
    assert root.find(f".//{SVG}image") is not None
    assert "SLEDAI-2K total" in texts(root)


#: Text that matplotlib would read as (broken) mathtext: "$x^{$" fails to parse.
MATH_LIKE = "$x^{$"


@pytest.mark.parametrize(
    "make",
    [
        lambda: plots.bilag_heatmap(
            BilagGrid("BL", "Baseline", (MATH_LIKE, "P-002"), (GRADES, ("",) * 9)),
            BilagGrid("M3", "Month 3", (MATH_LIKE, "P-002"), (("D",) * 9, ("C",) * 9)),
        ),
        lambda: plots.bilag_heatmap(
            BASELINE, BilagGrid("M3", MATH_LIKE, ("P-001", "P-002"), MONTH_3.grades)
        ),
        lambda: plots.response_rate_plot(
            [dataclasses.replace(OBSERVED[1], visit=MATH_LIKE)], [], "sri4"
        ),
    ],
    ids=["participant-id", "visit-name", "visit-code"],
)
def test_user_text_is_drawn_as_typed_not_read_as_mathtext(make):
    assert MATH_LIKE in texts(parse(make()))
    # The setting holds while a plot is drawn only; matplotlib's default is left alone.
    assert matplotlib.rcParams["text.parse_math"] is True


def test_a_plot_is_rendered_once_for_the_same_data(monkeypatch):
    cache.clear()
    calls = []
    original = plots.Figure.savefig

    def counting_savefig(figure, *args, **kwargs):
        calls.append(1)
        return original(figure, *args, **kwargs)

    monkeypatch.setattr(plots.Figure, "savefig", counting_savefig)
    empty = TrajectorySet(trajectories=(), medians=())
    first = plots.sledai_plot(empty)
    second = plots.sledai_plot(empty)
    assert first == second
    assert len(calls) == 1
