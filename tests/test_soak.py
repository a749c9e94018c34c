"""tools/soak.py on a short run: the soak's own machinery, and the box through it.

40 s of the studio with garbage bursts on both inputs and a cable pulled mid-SysEx on each
(every 15 s here instead of every 5 minutes): every output carries exactly what
sim/oracle.py routes to it, nothing is dropped, the clock keeps its count, and under
MicroPython the engine takes the same bytes with the heap locked throughout and finds the
same parse errors, ending with no more heap than it started with.
"""

from sim_helpers import ALL_OUTPUTS

from tools import soak


def test_a_short_soak_loses_nothing_and_grows_no_heap():
    result = soak.soak(40.0, seed=3, pull_every_us=15_000_000)
    assert result["injected"]["pulls"] == {"A": 2, "B": 2}
    assert min(result["injected"]["bursts"].values()) >= 2
    assert result["parse_errors"] > 0  # the garbage was seen as garbage
    assert result["drops"] == 0 and result["rx_overflow"] == 0
    for port in ALL_OUTPUTS:
        out = result["outputs"][port]
        assert out["missing"] == out["unexpected"] == out["realtime_missing"] == 0, port
        assert out["received"] == out["expected"], port
        if "clock" in out:
            assert out["clock"]["out"] == out["clock"]["in"] > 1000, port
            assert abs(out["clock"]["drift_us"]) < 1000, port
            # away from the garbage (whose random bytes hold clocks 320 us apart), the
            # studio's clock keeps the jitter target
            assert out["clock"]["jitter_outside_bursts_us"]["max"] <= 640, port
    # the pulled SysEx reached the computer, closed by the box
    assert result["routes"]["7 A->USB sysex"]["out"]["USB"] >= 2
    mp = result["micropython"]
    assert mp["heap_locked_throughout"] and mp["guest_error"] is None
    assert mp["heap_growth_bytes"] <= 0
    pulls = sum(result["injected"]["pulls"].values())
    # there a pulled SysEx is ended by an F7 (no time passes for the box's timeout, which
    # counts the SysEx as cut): one byte more and one parse error less a pull
    assert mp["bytes_fed"] == sum(result["bytes_in"].values()) + pulls
    assert mp["parse_errors"] == result["parse_errors"] - pulls
