"""Report queries: per-visit response rows and the cohort analysis sets of an endpoint, the
response matrix, the baseline characteristics and the data behind the plots.

Each selector runs a fixed number of queries whatever the cohort size and reads the stored
results (responses.models), never recomputing them; the rules they apply live in
responses.scoring. ``participants`` restricts a report to a Participant queryset (a user's
sites, report filters); it is used as a subquery. ``as_of`` is the data cut
(clinical-rules.md section 4a): only participants enrolled and visits dated on or before it count.

- ``common``: the data cut, the study and its follow-up visits, rates shown as percents;
- ``rows``: responses.csv;
- ``cohort``: the observed and infused (mITT) tables, the not evaluable, the not infused;
- ``matrix``, ``baseline``, ``trajectories``: the other report pages.

The names below are the package's public API, re-exported while callers move to the modules.
"""

from responses.selectors.baseline import (
    BaselineGroup,
    BaselineTable,
    Spread,
    baseline_characteristics,
    spread,
)
from responses.selectors.cohort import (
    NO_RESULT_REASON,
    CohortRow,
    ExcludedParticipant,
    MittRow,
    MittSummary,
    NotEvaluable,
    NotInfused,
    NotInfusedParticipant,
    cohort_summary,
    mitt_summary,
    not_evaluable_at,
    not_infused,
)
from responses.selectors.common import (
    ShowsRateAsPercent,
    check_endpoint,
    enrolled_as_of,
    latest_computed_at,
    out_of_window,
    result_relation,
    scheduled_follow_up_definitions,
    visits_as_of,
)
from responses.selectors.matrix import (
    MATRIX_PAGE_SIZE,
    MatrixCell,
    MatrixColumn,
    MatrixRow,
    ResponseMatrix,
    response_matrix,
)
from responses.selectors.rows import (
    ResponseRow,
    response_rows,
)
from responses.selectors.trajectories import (
    BilagGrid,
    ScoreTrajectories,
    Trajectory,
    TrajectorySet,
    VisitMedian,
    bilag_grids,
    score_trajectories,
)

__all__ = [
    "MATRIX_PAGE_SIZE",
    "NO_RESULT_REASON",
    "BaselineGroup",
    "BaselineTable",
    "BilagGrid",
    "CohortRow",
    "ExcludedParticipant",
    "MatrixCell",
    "MatrixColumn",
    "MatrixRow",
    "MittRow",
    "MittSummary",
    "NotEvaluable",
    "NotInfused",
    "NotInfusedParticipant",
    "ResponseMatrix",
    "ResponseRow",
    "ScoreTrajectories",
    "ShowsRateAsPercent",
    "Spread",
    "Trajectory",
    "TrajectorySet",
    "VisitMedian",
    "baseline_characteristics",
    "bilag_grids",
    "check_endpoint",
    "cohort_summary",
    "enrolled_as_of",
    "latest_computed_at",
    "mitt_summary",
    "not_evaluable_at",
    "not_infused",
    "out_of_window",
    "response_matrix",
    "response_rows",
    "result_relation",
    "scheduled_follow_up_definitions",
    "score_trajectories",
    "spread",
    "visits_as_of",
]
