"""BILAG-2004 (responses.scoring.bilag) against clinical-rules.md."""

from __future__ import annotations

import pytest

from responses.scoring.bilag import (
    BILAG_GRADES,
    BILAG_NUMERIC,
    BILAG_SYSTEMS,
    bilag_e_after_involvement,
    bilag_numeric_score,
)
from tests.responses.scoring.answers import SPEC_BILAG_SYSTEMS, bilag

# --------------------------------------------------------------------------------------------
# BILAG-2004
# --------------------------------------------------------------------------------------------


def test_bilag_constants_match_the_spec() -> None:
    assert BILAG_SYSTEMS == SPEC_BILAG_SYSTEMS
    assert BILAG_GRADES == ("A", "B", "C", "D", "E")
    assert BILAG_NUMERIC == {"A": 12, "B": 8, "C": 1, "D": 0, "E": 0}


@pytest.mark.parametrize(
    ("grades", "expected"),
    [
        pytest.param(bilag("A"), 108, id="all-A-9x12"),
        pytest.param(bilag("E"), 0, id="all-E"),
        pytest.param(bilag("D"), 0, id="all-D"),
        pytest.param(bilag("C"), 9, id="all-C-9x1"),
        pytest.param(bilag("D", renal="B"), 8, id="one-B"),
        # A B C D E A B C D in spec order: 12+8+1+0+0+12+8+1+0 = 42
        pytest.param(
            dict(zip(SPEC_BILAG_SYSTEMS, "ABCDEABCD", strict=True)), 42, id="mix-A-to-E-twice"
        ),
        # renal A 12 + musculoskeletal B 8 + mucocutaneous C 1 + six E 0 = 21
        pytest.param(
            bilag("E", renal="A", musculoskeletal="B", mucocutaneous="C"), 21, id="A-B-C-rest-E"
        ),
        pytest.param(bilag("A", renal=None), None, id="one-ungraded"),
        pytest.param({"renal": "A"}, None, id="systems-missing"),
    ],
)
def test_numeric_bilag_score(grades: dict[str, str | None], expected: int | None) -> None:
    assert bilag_numeric_score(grades) == expected


def test_numeric_bilag_score_rejects_unknown_grade() -> None:
    with pytest.raises(ValueError, match="renal"):
        bilag_numeric_score(bilag("D", renal="F"))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param([], [], id="no-visits"),
        pytest.param([{"renal": "D"}, {"renal": "E"}], [(1, "renal")], id="E-after-D-flagged"),
        pytest.param([{"renal": "E"}, {"renal": "E"}], [], id="E-after-E-fine"),
        pytest.param(
            [{"renal": "A"}, {"renal": "C"}, {"renal": "E"}],
            [(2, "renal")],
            id="A-then-E-two-visits-later-flagged",
        ),
        pytest.param(
            [{"renal": "A"}, {"renal": "E"}, {"renal": "E"}],
            [(1, "renal"), (2, "renal")],
            id="every-E-after-involvement-flagged",
        ),
        pytest.param([{"renal": "E"}, {"renal": "A"}], [], id="E-then-A-fine"),
        pytest.param(
            [{"renal": "B"}, {"renal": None}, {"renal": "E"}],
            [(2, "renal")],
            id="ungraded-visit-in-between",
        ),
        pytest.param([{"renal": "E", "ophthalmic": "D"}], [], id="single-visit-never-flagged"),
        pytest.param(
            [
                {"renal": "C", "constitutional": "B", "ophthalmic": "E"},
                {"renal": "E", "constitutional": "E", "ophthalmic": "E"},
            ],
            [(1, "constitutional"), (1, "renal")],
            id="several-systems-in-spec-order",
        ),
        pytest.param([{"renal": "D"}, {"ophthalmic": "E"}], [], id="involvement-is-per-system"),
    ],
)
def test_bilag_e_after_involvement(
    history: list[dict[str, str | None]], expected: list[tuple[int, str]]
) -> None:
    assert bilag_e_after_involvement(history) == expected
