"""The safety report's B-cell plot, drawn as the cohort reports' plots are (responses.plots):
matplotlib SVG inlined with its text alternative, cached by its data, user text never read as
mathtext. Counts stay Decimal until the drawing step."""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.translation import gettext as _
from matplotlib.collections import LineCollection

from responses.plots import (
    MITT_COLOUR,
    PARTICIPANT_COLOUR,
    RASTERIZE_LINES_FROM,
    Plot,
    _figure,
    _float,
    _no_data,
    _svg,
    cached,
    plain_text,
)
from safety.b_cells import BCellTrajectory

#: The y axis is linear from 0 to this many cells/µL and logarithmic above, so a count of 0
#: (aplasia) shows on a log scale.
LINEAR_UP_TO_PER_UL = 1
#: Upper end of the y axis at least this (a normal child's count is a few hundred per µL).
Y_TOP_AT_LEAST = 1000


@cached
@plain_text
def b_cell_plot(trajectories: Sequence[BCellTrajectory], threshold_per_ul: Decimal) -> Plot:
    """Draw each participant's CD19+ B cells per µL over study day on a symmetric log scale,
    with the aplasia threshold as a horizontal line."""
    title = _("CD19+ B cells over study day")
    figure = _figure()
    if not trajectories:
        _no_data(figure, title)
        return _svg(figure, name="b-cells", title=title, description=_("No CD19+ B-cell count."))
    axes = figure.add_subplot()
    lines = [[(day, _float(count)) for day, count in t.points] for t in trajectories]
    many = len(lines) >= RASTERIZE_LINES_FROM
    axes.add_collection(
        LineCollection(
            lines,
            colors=PARTICIPANT_COLOUR,
            linewidths=0.8 if many else 1.2,
            alpha=0.35 if many else 0.7,
            label=_("participants (%(count)s)") % {"count": len(lines)},
            rasterized=many,
        )
    )
    if not many:
        days = [day for line in lines for day, _count in line]
        values = [count for line in lines for _day, count in line]
        axes.plot(days, values, "o", color=PARTICIPANT_COLOUR, markersize=3)
    axes.axhline(
        _float(threshold_per_ul),
        color=MITT_COLOUR,
        linewidth=1.2,
        linestyle="--",
        label=_("aplasia: below %(threshold)s cells/µL") % {"threshold": threshold_per_ul},
    )
    axes.axvline(0, color="#888888", linewidth=0.8, linestyle="--")
    axes.set_yscale("symlog", linthresh=LINEAR_UP_TO_PER_UL)
    axes.autoscale_view()
    highest = max(count for line in lines for _day, count in line)
    # Plain tick labels (0, 1, 10, 100, ...): the plot's text is never mathtext.
    decades = [0, *(10**power for power in range(len(str(int(max(highest, Y_TOP_AT_LEAST))))))]
    axes.set_yticks(decades, [str(tick) for tick in decades])
    axes.set_ylim(0, max(Y_TOP_AT_LEAST, highest * 1.5))
    axes.set_title(title)
    axes.set_xlabel(_("Study day (day 0 = CAR-T infusion)"))
    axes.set_ylabel(_("CD19+ B cells (cells/µL, log scale)"))
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", frameon=False)
    all_days = [day for line in lines for day, _count in line]
    description = _(
        "%(count)s participants from study day %(first)s to %(last)s; aplasia threshold "
        "%(threshold)s cells/µL; the axis is linear from 0 to %(linear)s cells/µL and "
        "logarithmic above."
    ) % {
        "count": len(lines),
        "linear": LINEAR_UP_TO_PER_UL,
        "first": min(all_days),
        "last": max(all_days),
        "threshold": threshold_per_ul,
    }
    return _svg(figure, name="b-cells", title=title, description=description)
