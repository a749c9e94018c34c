"""tools/bench.py's latency_with_term_halved: each run must change the one term it names,
and the simulator must feel it, or the table says nothing about where time goes."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from bench import LATENCY_TERMS, _studio, _term_halved  # noqa: E402

from sim.cost import CostModel  # noqa: E402


def test_each_term_is_halved_alone():
    model = CostModel.load().as_dict()
    for term in LATENCY_TERMS:
        halved = _term_halved(term).as_dict()
        assert halved[term] == pytest.approx(model[term] / 2)
        assert model[term] > 0
        assert {k: v for k, v in halved.items() if k != term} == {
            k: v for k, v in model.items() if k != term}


def test_a_term_the_studio_does_not_pay_is_refused_by_name():
    with pytest.raises(ValueError, match="sysex_in_byte_fuel"):
        _term_halved("sysex_in_byte_fuel")


def test_halving_the_write_shortens_the_studio_latency():
    # A lone message's write is ~88 us of its pass at 200 MHz: half of it shows in the median.
    today = _studio(3.0, CostModel.load())["latency_us"]
    halved = _studio(3.0, _term_halved("write_fuel"))["latency_us"]
    assert today["count"] == halved["count"] > 100
    assert halved["p50"] <= today["p50"] - 20
