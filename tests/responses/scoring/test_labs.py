"""Lab-assisted SLEDAI-2K suggestions (responses.scoring.labs), strict boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from responses.scoring.labs import Labs, sledai_suggestions
from tests.responses.scoring.answers import D

# --------------------------------------------------------------------------------------------
# Lab-assisted suggestions (strict boundaries)
# --------------------------------------------------------------------------------------------

NOTHING: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("labs", "expected"),
    [
        pytest.param(Labs(), NOTHING, id="no-labs"),
        pytest.param(Labs(platelets=D("99.9")), {"thrombocytopenia"}, id="platelets-99.9"),
        pytest.param(Labs(platelets=D("100")), NOTHING, id="platelets-100-at-cutoff"),
        pytest.param(Labs(wbc=D("2.9")), {"leukopenia"}, id="wbc-2.9"),
        pytest.param(Labs(wbc=D("3.0")), NOTHING, id="wbc-3.0-at-cutoff"),
        pytest.param(Labs(max_temperature_c=D("38.1")), {"fever"}, id="temp-38.1"),
        pytest.param(Labs(max_temperature_c=D("38.0")), NOTHING, id="temp-38.0-at-cutoff"),
        pytest.param(Labs(urine_rbc_per_hpf=D("6")), {"hematuria"}, id="urine-rbc-6"),
        pytest.param(Labs(urine_rbc_per_hpf=D("5")), NOTHING, id="urine-rbc-5-at-cutoff"),
        pytest.param(Labs(urine_wbc_per_hpf=D("6")), {"pyuria"}, id="urine-wbc-6"),
        pytest.param(Labs(urine_wbc_per_hpf=D("5")), NOTHING, id="urine-wbc-5-at-cutoff"),
        pytest.param(Labs(urinary_casts=True), {"urinary_casts"}, id="casts-reported"),
        pytest.param(Labs(urinary_casts=False), NOTHING, id="casts-absent"),
        pytest.param(Labs(protein_24h_g=D("0.51")), {"proteinuria"}, id="protein-24h-0.51"),
        pytest.param(Labs(protein_24h_g=D("0.5")), NOTHING, id="protein-24h-0.5-at-cutoff"),
        pytest.param(
            Labs(upcr=D("0.51"), upcr_unit="g/g"), {"proteinuria"}, id="upcr-0.51-g-per-g"
        ),
        pytest.param(Labs(upcr=D("0.5"), upcr_unit="g/g"), NOTHING, id="upcr-0.5-g-per-g-cutoff"),
        pytest.param(
            Labs(upcr=D("51"), upcr_unit="mg/mmol"), {"proteinuria"}, id="upcr-51-mg-per-mmol"
        ),
        pytest.param(
            Labs(upcr=D("50"), upcr_unit="mg/mmol"), NOTHING, id="upcr-50-mg-per-mmol-cutoff"
        ),
        pytest.param(
            Labs(upcr=D("0.8"), upcr_unit=None), NOTHING, id="upcr-without-unit-no-suggestion"
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.4"), upcr=D("0.8"), upcr_unit="g/g"),
            NOTHING,
            id="24h-normal-wins-over-high-upcr",
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.8"), upcr=D("0.3"), upcr_unit="g/g"),
            {"proteinuria"},
            id="24h-high-wins-over-normal-upcr",
        ),
        pytest.param(
            Labs(protein_24h_g=D("0.5"), upcr=D("60"), upcr_unit="mg/mmol"),
            NOTHING,
            id="24h-at-cutoff-wins-over-high-upcr-mg-per-mmol",
        ),
        pytest.param(
            Labs(c3=D("0.89"), c3_lower_limit=D("0.90")), {"low_complement"}, id="c3-below-limit"
        ),
        pytest.param(Labs(c3=D("0.90"), c3_lower_limit=D("0.90")), NOTHING, id="c3-at-limit"),
        pytest.param(
            Labs(c4=D("0.09"), c4_lower_limit=D("0.10")), {"low_complement"}, id="c4-below-limit"
        ),
        pytest.param(Labs(c4=D("0.10"), c4_lower_limit=D("0.10")), NOTHING, id="c4-at-limit"),
        pytest.param(
            Labs(c3=D("0.90"), c3_lower_limit=D("0.90"), c4=D("0.05"), c4_lower_limit=D("0.10")),
            {"low_complement"},
            id="c3-at-limit-c4-below-limit",
        ),
        pytest.param(Labs(c3=D("0.10")), NOTHING, id="c3-low-but-limit-missing"),
        pytest.param(Labs(c4=D("0.01")), NOTHING, id="c4-low-but-limit-missing"),
        pytest.param(
            Labs(anti_dsdna=D("31"), anti_dsdna_upper_limit=D("30")),
            {"increased_dna_binding"},
            id="dsdna-above-limit",
        ),
        pytest.param(
            Labs(anti_dsdna=D("30"), anti_dsdna_upper_limit=D("30")), NOTHING, id="dsdna-at-limit"
        ),
        pytest.param(Labs(anti_dsdna=D("500")), NOTHING, id="dsdna-high-but-limit-missing"),
        pytest.param(
            Labs(platelets=D("50"), wbc=D("2.0"), max_temperature_c=D("39.2"), urinary_casts=True),
            {"thrombocytopenia", "leukopenia", "fever", "urinary_casts"},
            id="several-at-once",
        ),
    ],
)
def test_lab_suggestions(labs: Labs, expected: set[str]) -> None:
    assert sledai_suggestions(labs) == frozenset(expected)


def test_lab_suggestions_are_descriptor_field_names() -> None:
    labs = Labs(
        platelets=D("1"),
        wbc=D("1"),
        max_temperature_c=D("40"),
        urine_rbc_per_hpf=D("50"),
        urine_wbc_per_hpf=D("50"),
        urinary_casts=True,
        protein_24h_g=D("3"),
        c3=D("0.1"),
        c3_lower_limit=D("0.9"),
        anti_dsdna=D("300"),
        anti_dsdna_upper_limit=D("30"),
    )
    assert sledai_suggestions(labs) == {
        "thrombocytopenia",
        "leukopenia",
        "fever",
        "hematuria",
        "pyuria",
        "urinary_casts",
        "proteinuria",
        "low_complement",
        "increased_dna_binding",
    }


def test_labs_reject_an_unknown_upcr_unit() -> None:
    with pytest.raises(ValueError, match="UPCR unit"):
        Labs(upcr=D("30"), upcr_unit="mg/g")


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), D("-1")], ids=["nan", "inf", "neg"])
def test_labs_reject_non_finite_or_negative_values(value: Decimal) -> None:
    with pytest.raises(ValueError, match="platelets"):
        Labs(platelets=value)


def test_labs_reject_binary_floats() -> None:
    with pytest.raises(TypeError, match="wbc"):
        Labs(wbc=2.9)  # type: ignore[arg-type]
