"""The preset editor end to end in a real browser: headless Chromium (Debian's package, run by
`make browser` when missing) driven by Playwright against `python -m editor`.

One musician's session: open the studio presets, route a spare input to a spare output,
mistype its channel and read the checker's error where it points, fix it, rename and
reorder presets, play it through the simulated box, then save it (download and CIRCUITPY)
and check the saved file with tools/check.py. Every wait is for a state of the page.

SWITCHYARD_SCREENSHOTS=DIR also saves the editor's pictures there (docs/ holds the README's).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from editor_helpers import editor_process, make_drive, midi_file, run_check, snapshot
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path(os.environ.get("SWITCHYARD_CHROMIUM", "/usr/bin/chromium"))
# Chromium as root in a container: no sandbox, no GPU, and nothing that looks things up on
# the network (it waits on those). Playwright gives each launch a fresh profile folder.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 60_000  # for the simulator's "try it"; the page's own steps take well under this
CHANNEL_ERROR = (
    "presets.json: presets[0].routes[6].channels[0]: channel 17 is outside 1..16; "
    "MIDI has channels 1..16"
)
SHOTS = os.environ.get("SWITCHYARD_SCREENSHOTS")


@pytest.fixture(scope="module")
def editor_url():
    with editor_process() as (line, proc):
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, "the editor did not start: %r %s" % (line, proc.stderr.read())
        yield match.group(0)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail("no Chromium at %s: run `make browser` (as root it installs Debian's "
                    "chromium package), or set SWITCHYARD_CHROMIUM" % CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def checked(page) -> None:
    """Wait until the checker has answered for the document as it is now."""
    expect(page.locator("body")).to_have_attribute("data-checked", "yes")


def open_editor(browser, editor_url, height: int = 1000):
    """A fresh page on the editor, ready and checked; and the list its script errors go to."""
    page = browser.new_page(viewport={"width": 1400, "height": height}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(editor_url)
    expect(page.locator("body")).to_have_attribute("data-ready", "yes")
    checked(page)
    return page, errors


def try_it(page, seconds: int):
    """Play the studio scenario for `seconds` through the edited preset; the result block."""
    page.get_by_label("for").fill(str(seconds))
    page.get_by_role("button", name="Play it through the box").click()
    result = page.locator("#try-result")
    expect(result).to_have_attribute("data-state", "done", timeout=WAIT_MS)
    return result


def download(page, folder: Path) -> Path:
    """Download the document into `folder` (made here) as presets.json; its folder."""
    with page.expect_download() as got:
        page.get_by_role("button", name="Download").click()
    folder.mkdir()
    got.value.save_as(folder / "presets.json")
    return folder


def saved_and_checked(page, folder: Path) -> dict:
    """Download the document, check it with tools/check.py (it must pass), and read it."""
    download(page, folder)
    assert run_check(folder).returncode == 0
    return json.loads((folder / "presets.json").read_text())


def test_edit_check_try_and_save_the_studio_presets(browser, editor_url, tmp_path):
    page, errors = open_editor(browser, editor_url)

    # the studio presets as matrices, with the panel labels and device names
    presets = page.get_by_test_id("preset")
    expect(presets).to_have_count(5)
    expect(presets.nth(0)).to_contain_text("P1")
    expect(presets.nth(0)).to_contain_text("Studio")
    expect(page.locator("#matrix thead")).to_contain_text("Rev2")
    expect(page.get_by_test_id("cell-A-3")).to_contain_text("clk+tr")
    expect(page.get_by_test_id("cell-A-3")).to_contain_text("all ch2,3")
    expect(page.locator("#checker-summary")).to_contain_text("No errors; 4 warnings")

    # add a route USB -> 6, mistype its channel: the checker's line appears at the field
    page.get_by_test_id("cell-USB-6").click()
    expect(page.get_by_test_id("route-panel")).to_contain_text("Route 7")
    page.get_by_label("Only channels").check()
    channels = page.get_by_label("Channels", exact=True)
    channels.fill("17")
    channels.press("Enter")
    inline = page.locator("#panel .inline-msg.error")
    expect(inline).to_have_text(CHANNEL_ERROR)
    expect(page.get_by_test_id("message").first).to_have_text(CHANNEL_ERROR)
    expect(page.get_by_test_id("cell-USB-6")).to_have_class(re.compile(r"\bhas-error\b"))
    shot(page, "editor-error.png")

    # the same words as tools/check.py on the file as it would be saved
    broken = download(page, tmp_path / "broken")
    check = run_check(broken)
    assert check.returncode == 1 and CHANNEL_ERROR in check.stdout.splitlines()

    # fix it
    channels.fill("10")
    channels.press("Enter")
    checked(page)
    expect(page.locator("#checker-summary")).to_contain_text("No errors")
    expect(inline).to_have_count(0)
    expect(page.get_by_test_id("cell-USB-6")).to_contain_text("all ch10")

    # rename, add, reorder and delete presets
    name = page.get_by_label("Preset name")
    name.fill("Studio live")
    name.press("Enter")
    expect(presets.nth(0)).to_contain_text("Studio live")
    page.get_by_role("button", name="+ Add preset").click()
    expect(presets).to_have_count(6)
    expect(presets.nth(5)).to_contain_text("FN+P2")
    expect(presets.nth(5).locator(".badge.error")).to_have_text("1")  # a preset with no routes
    page.get_by_role("button", name="Delete Preset 6").click()
    page.get_by_role("button", name="Move Keystep > Rev2 up").click()
    expect(presets.nth(1)).to_contain_text("Keystep > Rev2")
    expect(presets.nth(2)).to_contain_text("Keystep > Minitaur")
    presets.nth(0).click()
    checked(page)

    # try it: the studio scenario through preset 1 as edited
    result = try_it(page, 3)
    expect(result).to_contain_text("1 Studio live")
    expect(page.get_by_test_id("try-output-3")).to_contain_text("clock")
    expect(page.get_by_test_id("try-output-3")).to_contain_text("p99")
    expect(page.get_by_test_id("try-output-6")).to_contain_text("nothing")
    for plot in ("plot-latency", "plot-jitter"):
        width = page.get_by_test_id(plot).evaluate("img => img.complete && img.naturalWidth")
        assert width > 0, plot
    shot(page, "editor-try.png")

    # and a .mid of the musician's own, played into the Keystep's input
    song = tmp_path / "keys.mid"
    song.write_bytes(midi_file(notes=5, channel=0))
    page.get_by_label("Play").select_option("midi")
    page.locator("#try-midi").set_input_files(str(song))
    page.get_by_label("into input").select_option("B")
    page.get_by_role("button", name="Play it through the box").click()
    expect(result).to_contain_text("keys.mid on input B")
    expect(result).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("try-output-2")).to_contain_text("note on ch1 5")

    # save: download, and write onto a CIRCUITPY drive through deploy.py's checks
    saved = tmp_path / "saved"
    doc = saved_and_checked(page, saved)
    assert doc["presets"][0]["name"] == "Studio live"
    assert doc["presets"][0]["routes"][6] == {"from": "USB", "to": ["6"], "channels": [10]}
    assert [p["name"] for p in doc["presets"]] == [
        "Studio live", "Keystep > Rev2", "Keystep > Minitaur", "Everything", "Split"]

    drive = make_drive(tmp_path / "CIRCUITPY", presets=b"{}")
    page.get_by_label("CIRCUITPY drive").fill(str(drive))
    page.get_by_role("button", name="Write to drive").click()
    expect(page.locator("#status")).to_contain_text("Wrote %s" % (drive / "presets.json"))
    assert (drive / "presets.json").read_bytes() == (saved / "presets.json").read_bytes()
    assert run_check(drive).returncode == 0

    # a bad upload says why and leaves the document as it was
    bad = tmp_path / "notes.json"
    bad.write_text("this is not JSON")
    before = snapshot(drive)
    page.locator("#open-file").set_input_files(str(bad))
    expect(page.locator("#status")).to_contain_text("notes.json is not JSON")
    expect(presets.nth(0)).to_contain_text("Studio live")
    assert snapshot(drive) == before
    assert errors == []


def test_split_transpose_velocity_and_sends(browser, editor_url, tmp_path):
    """The Split preset: its keys shown as note names, a transpose mistyped and the checker's
    line at the field, the velocity range, a send's program, Try it through it, saved."""
    page, errors = open_editor(browser, editor_url)
    presets = page.get_by_test_id("preset")
    presets.nth(4).click()
    expect(presets.nth(4)).to_contain_text("Split")
    expect(page.get_by_test_id("cell-B-4")).to_contain_text("C-1..B3 +12")
    expect(page.get_by_test_id("cell-B-3")).to_contain_text("C4..G9 vel30..110")

    page.get_by_test_id("cell-B-4").click()
    expect(page.get_by_label("Lowest key")).to_have_value("C-1")
    expect(page.get_by_label("Highest key")).to_have_value("B3")
    transpose = page.get_by_label("Transpose", exact=True)
    expect(transpose).to_have_value("12")
    transpose.fill("49")
    transpose.press("Enter")
    inline = page.locator("#panel .inline-msg.error")
    expect(inline).to_contain_text("presets[4].routes[2].transpose: 49 is outside -48..48")
    transpose.fill("24")
    transpose.press("Enter")
    checked(page)
    expect(inline).to_have_count(0)
    high = page.get_by_label("Highest key")
    high.fill("59")  # a number is kept as its name
    high.press("Enter")
    checked(page)
    expect(high).to_have_value("B3")
    expect(page.get_by_test_id("cell-B-4")).to_contain_text("C-1..B3 +24")

    page.get_by_test_id("cell-B-3").click()
    expect(page.get_by_label("Lowest velocity")).to_have_value("30")
    expect(page.get_by_label("Highest velocity")).to_have_value("110")

    page.locator("#sends-box summary").click()
    sends = page.get_by_test_id("send")
    expect(sends).to_have_count(2)
    program = sends.nth(1).get_by_label("Send program")
    program.fill("7")
    program.press("Enter")
    checked(page)
    expect(sends.nth(1)).to_contain_text("the synth's 8")
    shot(page, "editor-split.png")

    result = try_it(page, 2)
    expect(result).to_contain_text("5 Split")
    expect(page.get_by_test_id("try-output-4")).to_contain_text("program change ch1")

    split = saved_and_checked(page, tmp_path / "saved")["presets"][4]
    assert split["routes"][2]["transpose"] == 24 and split["routes"][2]["keys"] == ["C-1", "B3"]
    assert split["send"][1] == {"to": ["4"], "channel": 1, "program": 7}
    assert errors == []


def test_the_box_s_clock_a_divided_route_and_the_tempo(browser, editor_url, tmp_path):
    """CLK as a row of the matrix: a route from it to the spare output, every 2nd clock, at
    100 BPM; Try it plays the box's clock there; the saved file passes tools/check.py."""
    page, errors = open_editor(browser, editor_url)
    page.get_by_test_id("cell-CLK-6").click()
    expect(page.get_by_label("From input")).to_have_value("CLK")
    divide = page.get_by_label("Clock divide")
    divide.fill("2")
    divide.press("Enter")
    checked(page)
    expect(page.get_by_test_id("cell-CLK-6")).to_contain_text("clk+tr /2")
    page.locator("#box-settings summary").click()
    tempo = page.get_by_label("Tempo", exact=True)
    tempo.fill("400")
    tempo.press("Enter")
    expect(page.locator("#checker-summary")).to_contain_text("1 error")
    tempo.fill("100")
    tempo.press("Enter")
    checked(page)
    expect(page.locator("#checker-summary")).to_contain_text("No errors")

    try_it(page, 2)
    expect(page.get_by_test_id("try-output-6")).to_contain_text("clock")

    doc = saved_and_checked(page, tmp_path / "saved")
    assert doc["tempo"] == {"bpm": 100}
    assert doc["presets"][0]["routes"][-1] == {
        "from": "CLK", "to": ["6"], "types": ["clock", "transport"], "clock_divide": 2}
    assert errors == []


def test_monitor_try_it_lanes_counters_pause_clear_filter(browser, editor_url):
    """The Monitor with no box: "Watch the box" says so in one line; Try it fills the
    lanes from the simulated box's monitor stream, with rates and counters; pause holds
    the lanes, clear empties them, the type filter and the port boxes narrow them."""
    page, errors = open_editor(browser, editor_url, height=1400)
    section = page.locator("#monitor")
    expect(page.locator("#monitor-lanes .lane")).to_have_count(10)

    page.locator("#monitor-box").click()  # no box on a test machine
    expect(section).to_have_attribute("data-state", "refused")
    expect(page.locator("#monitor-state")).to_contain_text("Try it plays the simulator")

    page.locator("#try-seconds").fill("3")
    page.locator("#monitor-sim").click()
    lane_a = page.locator("#lane-in-A li")
    expect(lane_a.filter(has_text="clock").first).to_be_visible()
    expect(page.locator("#lane-out-3 li").filter(has_text="note_on").first).to_be_visible()
    expect(page.locator("#monitor-counters")).to_have_attribute("data-preset", "1")
    expect(page.locator("#monitor-counters")).to_contain_text("parse errors 0")
    expect(page.locator("#lane-in-A .rate")).not_to_have_text("0/s")

    # pause: the lanes stand still while the box goes on
    page.locator("#monitor-pause").click()
    held = lane_a.count()
    page.wait_for_timeout(600)  # a state to hold for a while, not a wait for one
    assert lane_a.count() == held
    page.locator("#monitor-pause").click()

    # clear, then only note-ons; out 1 (clock only in the studio) unticked and hidden
    page.locator("#monitor-type").select_option("note_on")
    page.locator("#monitor-clear").click()
    expect(page.locator("#lane-out-4 li").first).to_contain_text("note_on")
    assert page.locator("#monitor-lanes li").filter(has_text="clock").count() == 0
    page.locator("#monitor-ports input[data-lane='out-1']").uncheck()
    expect(page.locator("#lane-out-1")).to_be_hidden()
    shot(page, "editor-monitor.png")
    page.locator("#monitor-stop").click()
    expect(section).to_have_attribute("data-state", "stopped")
    assert not errors, errors
