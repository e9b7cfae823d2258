"""Server-rendered report plots: matplotlib figures written as SVG to inline in the page.

Each function takes plain data (the selectors' dataclasses) and returns a :class:`Plot`: the SVG
markup with ``role="img"`` and a ``<title>`` text alternative, plus the title and description the
page shows as a visible caption. Figures are built with ``matplotlib.figure.Figure`` (not pyplot),
so no global figure registry holds them: each is freed when the function returns, and rendering is
thread-safe. ``svg.hashsalt`` and an empty date make the output the same for the same data.
"""

import functools
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import matplotlib
from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from responses.models import Endpoint
from responses.scoring.bilag import BILAG_GRADES, BILAG_SYSTEM_LABELS, BILAG_SYSTEMS
from responses.scoring.statistics import whole_percents
from responses.selectors.cohort import CohortRow, MittRow
from responses.selectors.trajectories import BilagGrid, TrajectorySet

#: Okabe-Ito colours (distinguishable with colour-vision deficiency).
PARTICIPANT_COLOUR = "#56B4E9"
MEDIAN_COLOUR = "#000000"
OBSERVED_COLOUR = "#0072B2"
MITT_COLOUR = "#D55E00"
#: BILAG-2004 grades from severe to never involved, then not recorded or not done (ND).
GRADE_COLOURS = ["#B2182B", "#EF8A62", "#FDDBC7", "#D1E5F0", "#F7F7F7", "#BDBDBD"]
#: Above this many participants their lines are drawn as one embedded image, to keep pages small.
RASTERIZE_LINES_FROM = 150
#: Up to this many participants the heat map names them and prints each grade.
LABEL_ROWS_UP_TO = 40
WIDTH_IN = 8.0
HEIGHT_IN = 4.0
RASTER_DPI = 150


PLOT_CACHE_SECONDS = 60 * 60


def plain_text(draw: Callable[..., "Plot"]) -> Callable[..., "Plot"]:
    """Draw the plot with every text shown as typed, never read as mathtext: participant IDs,
    visit codes and names come from users, and "$x^{$" is a label, not markup that fails to
    parse. Text objects read the setting when created, so it covers the whole drawing."""

    @functools.wraps(draw)
    def wrapper(*args: object, **kwargs: object) -> Plot:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return wrapper


def cached(render: Callable[..., "Plot"]) -> Callable[..., "Plot"]:
    """Keep a rendered plot for the same data and language: rendering dominates a report's time
    (over a second for 2,000 participants), computing its data does not. The key is the data
    itself, so a change of any stored result gives a new key and nothing is ever stale."""

    @functools.wraps(render)
    def wrapper(*args: object) -> Plot:
        # Plain frozen dataclasses of text and numbers; lazy labels are made text first.
        data = tuple(str(arg) if isinstance(arg, Promise) else arg for arg in args)
        fingerprint = hashlib.sha256(repr((get_language(), data)).encode()).hexdigest()
        key = f"report-plot:{render.__name__}:{fingerprint}"
        plot = cache.get(key)
        if plot is None:
            plot = render(*args)
            cache.set(key, plot, PLOT_CACHE_SECONDS)
        return plot

    return wrapper


@dataclass(frozen=True)
class Plot:
    """An SVG figure ready to inline, with its title and text alternative."""

    svg: SafeString
    title: str
    description: str


def _svg(figure: Figure, *, name: str, title: str, description: str) -> Plot:
    """Write a figure as SVG and make it accessible: role="img", aria-label and <title>."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"trialsite-{name}", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=RASTER_DPI)
    markup = buffer.getvalue()
    markup = markup[markup.index("<svg") :]  # drop the XML declaration and DOCTYPE
    root_end = markup.index(">")
    label = escape(f"{title}. {description}")
    markup = (
        markup[:root_end]
        + f' role="img" aria-label="{label}" class="report-plot-svg"'
        + ">"
        + f"<title>{label}</title>"
        + markup[root_end + 1 :]
    )
    # Only matplotlib's own output and escaped text are marked safe.
    return Plot(svg=mark_safe(markup), title=title, description=description)


def _figure(height: float = HEIGHT_IN, *, constrained: bool = False) -> Figure:
    """Return a figure; fixed margins suit the line plots and are faster than a layout engine."""
    if constrained:
        return Figure(figsize=(WIDTH_IN, height), layout="constrained")
    figure = Figure(figsize=(WIDTH_IN, height))
    figure.subplots_adjust(left=0.09, right=0.98, top=0.91, bottom=0.13)
    return figure


def _no_data(figure: Figure, title: str) -> None:
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.text(0.5, 0.5, _("No data for these filters"), ha="center", va="center", fontsize=12)
    axes.set_axis_off()


def _float(value: Decimal | int) -> float:
    # Plot coordinates only: every reported number stays a Decimal.
    return float(value)


@plain_text
def trajectory_plot(
    data: TrajectorySet,
    *,
    name: str,
    title: str,
    y_label: str,
    y_limits: tuple[float, float] | None = None,
) -> Plot:
    """Draw one line per participant over study day and the median at each scheduled visit."""
    figure = _figure()
    if not data.trajectories:
        _no_data(figure, title)
        return _svg(figure, name=name, title=title, description=_("No data for these filters."))
    axes = figure.add_subplot()
    lines = [[(day, _float(value)) for day, value in t.points] for t in data.trajectories]
    many = len(lines) >= RASTERIZE_LINES_FROM
    collection = LineCollection(
        lines,
        colors=PARTICIPANT_COLOUR,
        linewidths=0.8 if many else 1.2,
        alpha=0.35 if many else 0.7,
        label=_("participants (%(count)s)") % {"count": len(lines)},
        rasterized=many,
    )
    axes.add_collection(collection)
    for line in lines:
        if len(line) == 1 and not many:
            axes.plot(*line[0], "o", color=PARTICIPANT_COLOUR, markersize=3)
    axes.plot(
        [m.target_day for m in data.medians],
        [_float(m.median) for m in data.medians],
        color=MEDIAN_COLOUR,
        linewidth=2.2,
        marker="o",
        markersize=4,
        label=_("median at each scheduled visit"),
    )
    axes.autoscale_view()
    if y_limits is not None:
        axes.set_ylim(*y_limits)
    axes.axvline(0, color="#888888", linewidth=0.8, linestyle="--")
    axes.set_title(title)
    axes.set_xlabel(_("Study day (day 0 = CAR-T infusion)"))
    axes.set_ylabel(y_label)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", frameon=False)
    days = [day for line in lines for day, _value in line]
    description = _("%(count)s participants from study day %(first)s to %(last)s; %(medians)s.") % {
        "count": len(lines),
        "first": min(days),
        "last": max(days),
        "medians": ", ".join(
            _("median %(value)s at %(visit)s") % {"value": m.median, "visit": m.visit}
            for m in data.medians
        ),
    }
    return _svg(figure, name=name, title=title, description=description)


@cached
def sledai_plot(data: TrajectorySet) -> Plot:
    return trajectory_plot(
        data,
        name="sledai",
        title=_("SLEDAI-2K over study day"),
        y_label=_("SLEDAI-2K total"),
    )


@cached
def pga_plot(data: TrajectorySet) -> Plot:
    return trajectory_plot(
        data,
        name="pga",
        title=_("Physician Global Assessment over study day"),
        y_label=_("PGA (0 none to 3 severe)"),
        y_limits=(0, 3.05),
    )


def _percent(value: Decimal) -> float:
    return _float(value * 100)


@dataclass(frozen=True)
class _Rate:
    """A visit's response rate as the plot draws it."""

    visit: str
    rate: Decimal
    ci_low: Decimal
    ci_high: Decimal
    #: "responders/denominator", written above the interval.
    counts: str


def _rates(rows: Sequence[CohortRow] | Sequence[MittRow], denominator: str) -> list[_Rate]:
    """Return the rate of each row that has one (it has none without a denominator)."""
    return [
        _Rate(
            row.visit,
            row.rate,
            row.ci_low,
            row.ci_high,
            f"{row.responders}/{getattr(row, denominator)}",
        )
        for row in rows
        if row.rate is not None and row.ci_low is not None and row.ci_high is not None
    ]


def _rate_texts(endpoint: str) -> tuple[str, str]:
    """Return the response rate plot's title and y-axis label for the endpoint: a response
    rate for SRI-X and BICLA, the share of participants in the state for LLDAS and DORIS."""
    if endpoint == Endpoint.LLDAS:
        return _("Participants in LLDAS by visit"), _("In LLDAS (%) with exact 95% CI")
    if endpoint == Endpoint.DORIS:
        return (
            _("Participants in DORIS remission by visit"),
            _("In DORIS remission (%) with exact 95% CI"),
        )
    title = _("%(endpoint)s response rate by visit") % {"endpoint": Endpoint(endpoint).label}
    return title, _("Responders (%) with exact 95% CI")


@cached
@plain_text
def response_rate_plot(
    observed: Sequence[CohortRow], mitt: Sequence[MittRow], endpoint: str
) -> Plot:
    """Draw the observed and infused (mITT) response rates of the endpoint (its value, e.g.
    "sri4") by visit with exact 95% CIs."""
    title, y_label = _rate_texts(endpoint)
    figure = _figure()
    shown = _rates(observed, "evaluable")
    shown_mitt = _rates(mitt, "denominator")
    if not shown and not shown_mitt:
        _no_data(figure, title)
        return _svg(figure, name="rate", title=title, description=_("No evaluable visit yet."))
    axes = figure.add_subplot()
    codes = [row.visit for row in observed]
    position = {code: index for index, code in enumerate(codes)}
    for rates, colour, label, offset, face in (
        (shown, OBSERVED_COLOUR, _("observed (evaluable)"), -0.12, OBSERVED_COLOUR),
        (shown_mitt, MITT_COLOUR, _("infused (mITT)"), 0.12, "white"),
    ):
        if not rates:
            continue
        x = [position[rate.visit] + offset for rate in rates]
        y = [_percent(rate.rate) for rate in rates]
        below = [_percent(rate.rate - rate.ci_low) for rate in rates]
        above = [_percent(rate.ci_high - rate.rate) for rate in rates]
        axes.errorbar(
            x,
            y,
            yerr=[below, above],
            fmt="o",
            color=colour,
            markerfacecolor=face,
            capsize=4,
            label=label,
        )
        for xi, rate in zip(x, rates, strict=True):
            axes.annotate(
                rate.counts,
                (xi, _percent(rate.ci_high)),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=7,
                color=colour,
            )
    axes.set_xticks(range(len(codes)), codes)
    axes.set_ylim(0, 110)
    axes.set_yticks(range(0, 101, 20))
    axes.set_title(title)
    axes.set_xlabel(_("Visit"))
    axes.set_ylabel(y_label)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper left", frameon=False)
    description = "; ".join(_rate_description(row) for row in observed if row.rate is not None)
    return _svg(figure, name="rate", title=title, description=description or title)


GRADE_INDEX = {grade: index for index, grade in enumerate(BILAG_GRADES)}
NOT_GRADED_INDEX = len(BILAG_GRADES)


def _rate_description(row: CohortRow) -> str:
    rate, low, high = whole_percents(row.responders, row.evaluable)
    return _(
        "%(visit)s: %(responders)s of %(evaluable)s (%(rate)s%%, 95%% CI %(low)s-%(high)s%%)"
    ) % {
        "visit": row.visit,
        "responders": row.responders,
        "evaluable": row.evaluable,
        "rate": rate,
        "low": low,
        "high": high,
    }


@cached
@plain_text
def bilag_heatmap(baseline: BilagGrid, visit: BilagGrid) -> Plot:
    """Draw BILAG-2004 grades, participants x nine systems, at baseline and at a chosen visit."""
    title = _("BILAG-2004 grades at %(baseline)s and %(visit)s") % {
        "baseline": baseline.visit,
        "visit": visit.visit,
    }
    count = len(baseline.participant_ids)
    height = min(14.0, max(HEIGHT_IN, 2.5 + 0.28 * count))
    figure = _figure(height, constrained=True)
    if count == 0:
        _no_data(figure, title)
        return _svg(figure, name="bilag", title=title, description=_("No data for these filters."))
    colour_map = ListedColormap(GRADE_COLOURS)
    system_labels = [_(BILAG_SYSTEM_LABELS[system]) for system in BILAG_SYSTEMS]
    axes_pair = figure.subplots(1, 2, sharey=True)
    labelled = count <= LABEL_ROWS_UP_TO
    for axes, grid in zip(axes_pair, (baseline, visit), strict=True):
        cells = [
            [GRADE_INDEX.get(grade, NOT_GRADED_INDEX) for grade in grades] for grades in grid.grades
        ]
        axes.imshow(
            cells,
            cmap=colour_map,
            vmin=-0.5,
            vmax=NOT_GRADED_INDEX + 0.5,
            aspect="auto",
            interpolation="none",
        )
        axes.set_title(f"{grid.visit} {grid.visit_name}", fontsize=10)
        axes.set_xticks(range(len(BILAG_SYSTEMS)), system_labels, rotation=60, ha="right")
        axes.set_xlabel(_("Organ system"))
        if labelled:
            for row, grades in enumerate(grid.grades):
                for column, grade in enumerate(grades):
                    if grade != "":
                        colour = "white" if grade == "A" else "black"
                        axes.text(column, row, grade, ha="center", va="center", color=colour)
    if labelled:
        axes_pair[0].set_yticks(range(count), baseline.participant_ids)
    else:
        axes_pair[0].set_yticks([])
    axes_pair[0].set_ylabel(_("Participant (%(count)s)") % {"count": count})
    figure.suptitle(title)
    figure.legend(
        handles=[
            Patch(facecolor=colour, edgecolor="#999999", label=label)
            for colour, label in zip(
                GRADE_COLOURS, [*BILAG_GRADES, _("not recorded or not done (ND)")], strict=True
            )
        ],
        loc="outside lower center",
        ncols=len(GRADE_COLOURS),
        frameon=False,
    )
    description = "; ".join(
        _("%(visit)s: %(a)s systems graded A and %(b)s graded B in %(count)s participants")
        % {
            "visit": grid.visit,
            "a": sum(grades.count("A") for grades in grid.grades),
            "b": sum(grades.count("B") for grades in grid.grades),
            "count": sum(1 for grades in grid.grades if any(g != "" for g in grades)),
        }
        for grid in (baseline, visit)
    )
    return _svg(figure, name="bilag", title=title, description=description)
