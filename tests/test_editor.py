"""The preset editor's server (editor/): its API against the project's own checker, simulator
and deploy checks, over HTTP on a server started in this process."""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import threading

import pytest
from editor_helpers import (
    REPO,
    STUDIO,
    call,
    editor_process,
    make_drive,
    midi_file,
    post_json,
    run_check,
    snapshot,
)

from editor import document, server, tryit
from editor.document import midi


@pytest.fixture(scope="module")
def editor():
    srv = server.EditorServer(STUDIO, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def studio_doc():
    return json.loads(STUDIO.read_text())


def with_route(doc, route, preset=0):
    doc = copy.deepcopy(doc)
    doc["presets"][preset]["routes"].append(route)
    return doc


# ---- where it listens ----------------------------------------------------------------


def test_listens_on_loopback_only(editor):
    assert editor.socket.getsockname()[0] == "127.0.0.1"
    assert editor.url == "http://127.0.0.1:%d/" % editor.port


def test_there_is_no_option_to_listen_elsewhere(capsys):
    with pytest.raises(SystemExit) as exit_:
        server.main(["--host", "0.0.0.0"])
    assert exit_.value.code == 2
    assert "unrecognized arguments: --host" in capsys.readouterr().err


def test_another_host_name_is_refused(editor):
    status, body = call(editor.port, "GET", "/api/meta", host="attacker.example:%d" % editor.port)
    assert status == 421
    assert editor.url in body["error"]


def test_make_editor_prints_its_address_and_serves_the_page():
    with editor_process() as (first, proc):
        match = re.fullmatch(r"Switchyard preset editor: http://127\.0\.0\.1:(\d+)/\n", first)
        assert match, first + proc.stderr.read() if proc.poll() is not None else first
        status, page = call(int(match.group(1)), "GET", "/")
        assert status == 200 and b"<title>Switchyard presets</title>" in page


def test_a_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert server.main(["--port", str(taken.getsockname()[1])]) == 2
    assert "is in use" in capsys.readouterr().err


# ---- the page's files ----------------------------------------------------------------


def test_static_files_are_served_and_nothing_else(editor):
    status, script = call(editor.port, "GET", "/static/editor.js")
    assert status == 200 and b"/api/validate" in script
    for path in ("/static/../server.py", "/static/%2e%2e%2fserver.py", "/static/nope.js"):
        status, _ = call(editor.port, "GET", path)
        assert status == 404, path


def test_meta_names_every_message_type_of_the_midi_table(editor):
    status, meta = call(editor.port, "GET", "/api/meta")
    assert status == 200
    assert [t["name"] for t in meta["types"]] == list(midi.TYPE_NAMES)
    assert all(t["label"] for t in meta["types"])
    assert meta["buttons"] == ["P1", "P2", "P3", "P4", "FN+P1", "FN+P2", "FN+P3", "FN+P4"]
    assert meta["inputs"] == ["A", "B", "USB"]
    assert meta["outputs"] == ["1", "2", "3", "4", "5", "6", "USB"]


# ---- the checker's words -------------------------------------------------------------


def test_studio_opens_with_the_warnings_check_py_prints(editor):
    status, opened = call(editor.port, "GET", "/api/studio")
    assert status == 200 and opened["ok"]
    assert opened["doc"] == json.loads(STUDIO.read_text())
    printed = run_check(REPO).stdout.splitlines()
    warnings = [w["text"] for w in opened["warnings"]]
    assert warnings and warnings == [line for line in printed if ": warning: " in line]
    assert opened["warnings"][0]["path"] == "presets[3].routes[0].to[0]"


def test_an_error_is_check_py_s_line_with_its_json_path(editor, studio_doc, tmp_path):
    doc = with_route(studio_doc, {"from": "A", "to": ["7"]})
    status, verdict = post_json(editor.port, "/api/validate", {"doc": doc})
    assert status == 200 and not verdict["ok"]
    (tmp_path / "presets.json").write_text(verdict["text"])
    checked = run_check(tmp_path)
    assert checked.returncode == 1
    errors = [line for line in checked.stdout.splitlines() if ": warning: " not in line]
    assert [e["text"] for e in verdict["errors"]] == errors
    (error,) = verdict["errors"]
    assert error["text"].startswith('presets.json: presets[0].routes[6].to[0]: unknown output "7"')
    assert error["path"] == "presets[0].routes[6].to[0]"
    assert error["parts"] == ["presets", 0, "routes", 6, "to", 0]


def test_the_file_name_is_the_one_being_edited(editor, studio_doc):
    doc = with_route(studio_doc, {"from": "A", "to": ["1"], "channels": [17]})
    status, verdict = post_json(editor.port, "/api/validate",
                                {"doc": doc, "filename": "/home/me/live.json"})
    assert status == 200
    assert verdict["filename"] == "live.json"
    assert verdict["errors"][0]["text"] == (
        "live.json: presets[0].routes[6].channels[0]: channel 17 is outside 1..16; "
        "MIDI has channels 1..16"
    )


def test_saved_text_is_the_document_laid_out_a_route_a_line(studio_doc):
    text = document.format_doc(studio_doc)
    assert json.loads(text) == studio_doc
    assert '      {"from": "B", "to": ["2"], "types": ["notes"]},\n' in text
    assert document.format_doc(json.loads(text)) == text


def test_device_and_root_paths_are_split_into_parts():
    assert document.path_parts('devices["1"]') == ["devices", "1"]
    assert document.path_parts("presets[2].routes[0].follow.input") == [
        "presets", 2, "routes", 0, "follow", "input"]
    line = document.message("presets.json: line 3, column 5: expected", "presets.json", "error")
    assert line["path"] is None


# ---- opening a file ------------------------------------------------------------------


def open_file(port, data: bytes, name="presets.json"):
    return call(port, "POST", "/api/open", data,
                {"Content-Type": "application/octet-stream", "X-Filename": name})


def test_open_returns_the_document_and_its_errors(editor):
    data = b'{"version": 1, "presets": [{"name": "X", "routes": [{"from": "A", "to": ["9"]}]}]}'
    status, opened = open_file(editor.port, data, "mine.json")
    assert status == 200
    assert opened["filename"] == "mine.json"
    assert opened["doc"]["presets"][0]["name"] == "X"
    assert opened["errors"][0]["path"] == "presets[0].routes[0].to[0]"


def test_open_refuses_a_file_that_is_not_json(editor):
    status, refused = open_file(editor.port, b'{"version": 1,, }')
    assert status == 400
    assert refused["error"] == (
        "presets.json is not JSON, so it is not a presets.json; nothing was opened"
    )
    assert refused["details"][0].startswith("presets.json: line 1, column 15: ")


def test_open_refuses_text_that_is_not_utf8_and_json_of_another_shape(editor):
    status, refused = open_file(editor.port, b"\xff\xfe\x00\x01", "song.mid")
    assert status == 400 and "song.mid is not a text file" in refused["error"]
    status, refused = open_file(editor.port, b'{"version": 1, "presets": {"a": 1}}')
    assert status == 400 and '"presets" is not a list' in refused["error"]


def test_open_refuses_50_mb_before_reading_it(editor):
    size = 50 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", editor.port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/open HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: "
            b"application/octet-stream\r\nX-Filename: big.json\r\nContent-Length: %d\r\n\r\n"
            % (editor.port, size)
        )
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"] == (
        "big.json is 52,428,800 bytes; a presets file holds at most 32,768 (the most the box "
        "reads), so nothing was opened"
    )


def test_requests_must_be_json_of_the_right_type(editor):
    status, refused = call(editor.port, "POST", "/api/validate", b"nope",
                           {"Content-Type": "application/json"})
    assert status == 400 and refused["error"] == "the request is not JSON"
    status, _ = call(editor.port, "POST", "/api/validate", b"{}", {"Content-Type": "text/plain"})
    assert status == 415


# ---- try it --------------------------------------------------------------------------


def test_try_it_plays_the_studio_through_the_edited_presets(editor, studio_doc):
    # a sixth preset that sends input A to the OP-Z alone
    doc = copy.deepcopy(studio_doc)
    doc["presets"].append({"name": "OP-Z only", "routes": [{"from": "A", "to": ["5"]}]})
    text = document.format_doc(doc)
    status, report = post_json(editor.port, "/api/try",
                               {"text": text, "preset": 6, "source": "studio", "seconds": 2})
    assert status == 200, report
    assert report["preset"] == {"number": 6, "name": "OP-Z only"}
    outs = report["outputs"]
    assert outs["5"]["bytes"] > 0 and outs["5"]["messages"]["clock"] > 0
    assert all(outs[p]["bytes"] == 0 for p in outs if p != "5")
    assert outs["5"]["latency_us"]["count"] > 0 and outs["5"]["clock_jitter_us"]["count"] > 0
    for name in ("latency", "jitter"):
        assert report["plots"][name].startswith("<?xml") and "<svg" in report["plots"][name]
    assert "switchyard: preset 6: OP-Z only" in report["console"]


def test_try_it_refuses_presets_with_errors(editor, studio_doc):
    text = document.format_doc(with_route(studio_doc, {"from": "A", "to": ["7"]}))
    status, refused = post_json(editor.port, "/api/try", {"text": text, "preset": 1})
    assert status == 422
    assert refused["error"].startswith("fix the 1 error first")
    assert refused["details"][0].startswith("presets.json: presets[0].routes[6].to[0]: ")


def test_try_it_plays_an_uploaded_midi_file_into_an_input(editor):
    text = STUDIO.read_text()
    data = base64.b64encode(midi_file(5, channel=0)).decode()
    status, report = post_json(editor.port, "/api/try", {
        "text": text, "preset": 1, "source": "midi", "midi": data, "midi_name": "keys.mid",
        "port": "B"})
    assert status == 200, report
    assert report["source"] == "keys.mid on input B"
    # Studio: the Keystep's (in B) notes go to the Digitakt on out 2, and nowhere else
    assert report["outputs"]["2"]["messages"] == {"note_off ch1": 5, "note_on ch1": 5}
    assert report["outputs"]["4"]["bytes"] == 0


def test_try_it_refuses_a_file_that_is_not_midi(editor):
    data = base64.b64encode(b"this is no MIDI").decode()
    status, refused = post_json(editor.port, "/api/try", {
        "text": STUDIO.read_text(), "source": "midi", "midi": data, "midi_name": "song.mid"})
    assert status == 400
    assert refused["error"].startswith("song.mid: not a readable Standard MIDI File")
    status, refused = post_json(editor.port, "/api/try", {
        "text": STUDIO.read_text(), "source": "midi", "midi": data, "midi_name": "song.wav"})
    assert status == 400 and "not a .mid file" in refused["error"]


# ---- writing to the drive ------------------------------------------------------------


def test_save_writes_presets_json_that_check_py_passes(editor, studio_doc, tmp_path):
    drive = make_drive(tmp_path / "CIRCUITPY", presets=b"old")
    doc = copy.deepcopy(studio_doc)
    doc["presets"][0]["routes"].append({"from": "USB", "to": ["6"], "types": ["notes"]})
    status, saved = post_json(editor.port, "/api/save", {
        "text": document.format_doc(doc), "drive": str(drive)})
    assert status == 200, saved
    assert saved["saved"] == str(drive / "presets.json")
    assert json.loads((drive / "presets.json").read_text()) == doc
    assert run_check(drive).returncode == 0
    assert sorted(snapshot(drive)) == ["boot_out.txt", "presets.json"]  # no temporary left


@pytest.mark.parametrize("name", ["../presets.json", "/tmp/presets.json", "lib/presets.json"])
def test_save_refuses_a_path_outside_the_drive(editor, tmp_path, name):
    drive = make_drive(tmp_path / "CIRCUITPY", presets=b"old")
    before = snapshot(tmp_path)
    status, refused = post_json(editor.port, "/api/save", {
        "text": STUDIO.read_text(), "drive": str(drive), "name": name})
    assert status == 400
    assert "is outside the drive's top folder" in refused["error"]
    assert snapshot(tmp_path) == before


def test_save_refuses_a_link_that_leads_off_the_drive(editor, tmp_path):
    drive = make_drive(tmp_path / "CIRCUITPY")
    (tmp_path / "elsewhere.json").write_text("{}")
    (drive / "presets.json").symlink_to(tmp_path / "elsewhere.json")
    status, refused = post_json(editor.port, "/api/save", {
        "text": STUDIO.read_text(), "drive": str(drive)})
    assert status == 400 and "outside the drive" in refused["error"]
    assert (tmp_path / "elsewhere.json").read_text() == "{}"


def test_save_refuses_a_folder_that_is_not_circuitpy(editor, tmp_path):
    folder = tmp_path / "USBSTICK"
    folder.mkdir()
    status, refused = post_json(editor.port, "/api/save", {
        "text": STUDIO.read_text(), "drive": str(folder)})
    assert status == 400 and "has no boot_out.txt" in refused["error"]
    assert list(folder.iterdir()) == []


def test_save_refuses_presets_with_errors_and_keeps_the_old_file(editor, studio_doc, tmp_path):
    drive = make_drive(tmp_path / "CIRCUITPY", presets=b"old")
    text = document.format_doc(with_route(studio_doc, {"from": "A", "to": ["7"]}))
    status, refused = post_json(editor.port, "/api/save", {"text": text, "drive": str(drive)})
    assert status == 422
    assert refused["details"] == [
        'presets.json: presets[0].routes[6].to[0]: unknown output "7"; outputs are 1..6 and USB'
    ]
    assert (drive / "presets.json").read_bytes() == b"old"


def test_try_it_says_when_the_simulated_box_stops(monkeypatch):
    def stall(self, *args, **kwargs):
        raise tryit.SimulationStalled("pass 12 at 1.000 s: out 3 still queued")

    monkeypatch.setattr(tryit.Simulation, "run", stall)
    with pytest.raises(document.Problem) as refused:
        tryit.try_presets(STUDIO.read_text(), seconds=2)
    assert refused.value.status == 500
    assert str(refused.value) == (
        "the simulated box stopped making progress: pass 12 at 1.000 s: out 3 still queued"
    )
