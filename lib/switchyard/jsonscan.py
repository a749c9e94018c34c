"""A JSON syntax scanner that says where the first error is: line and column, and why.

CircuitPython's json.loads reports no position and accepts some invalid JSON ([1,,2]), so
switchyard.presets first runs the text through scan(), which finds the first syntax error
the way CPython's json module does (same line and column, counted by line_column()) and the
keys given twice in one object; error_message() turns an error into the line the serial
console and tools/check.py print. Only then is the text handed to json.loads.

Works on the UTF-8 bytes (indexing a CircuitPython str with non-ASCII text is not O(1))
and without recursion; positions are turned into character columns only for the message.
Runs once at start-up, never in the loop.
"""


class JsonError(Exception):
    """The first syntax error: byte position, kind (see find_json_error) and container."""

    def __init__(self, pos: int, kind: str, container: int = 0) -> None:
        super().__init__(kind)
        self.pos = pos
        self.kind = kind
        self.container = container  # ord("[") or ord("{") for comma/trailing_comma/eof cases


def _skip_ws(data: bytes, i: int, n: int) -> int:
    while i < n:
        c = data[i]
        if c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            break
        i += 1
    return i


def _hex_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _hex4(data: bytes, i: int) -> int:
    return int(bytes(data[i : i + 4]).decode(), 16)


def _scan_string(data: bytes, begin: int, n: int) -> int:
    """Index after the closing quote of the string whose opening quote is at begin."""
    i = begin + 1
    while True:
        # find the closing quote or the next backslash with C-level searches, not byte by byte
        stop = data.find(b'"', i)
        if stop < 0:
            stop = n
        slash = data.find(b"\\", i, stop)
        if slash >= 0:
            stop = slash
        if stop > i and min(data[i:stop]) < 0x20:
            while data[i] >= 0x20:
                i += 1
            raise JsonError(i, "control")
        i = stop
        if i >= n:
            raise JsonError(begin, "unterminated")
        if data[i] == 0x22:
            return i + 1
        i += 1  # past the backslash
        if i >= n:
            raise JsonError(begin, "unterminated")
        c = data[i]
        if c != 0x75:  # not \u
            if c not in b'"\\/bfnrt':
                raise JsonError(i - 1, "escape")
            i += 1
            continue
        u = i
        end = u + 5
        if end >= n:
            raise JsonError(u, "uescape")
        for j in range(u + 1, end):
            if not _hex_digit(data[j]):
                raise JsonError(u, "uescape")
        i = end
        # CPython reads a low surrogate right after a high one as part of the same escape
        if 0xD800 <= _hex4(data, u + 1) <= 0xDBFF and end + 6 < n:
            if data[end] == 0x5C and data[end + 1] == 0x75:
                for j in range(end + 2, end + 6):
                    if not _hex_digit(data[j]):
                        raise JsonError(end + 1, "uescape")
                if 0xDC00 <= _hex4(data, end + 2) <= 0xDFFF:
                    i = end + 6


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _scan_number(data: bytes, start: int, n: int) -> int:
    """Index after the number at start, matched as CPython's json scanner matches it."""
    i = start
    if data[i] == 0x2D:  # -
        i += 1
        if i >= n:
            raise JsonError(start, "value")
    c = data[i]
    if 0x31 <= c <= 0x39:
        i += 1
        while i < n and _is_digit(data[i]):
            i += 1
    elif c == 0x30:
        i += 1
    else:
        raise JsonError(start, "value")
    if i < n - 1 and data[i] == 0x2E and _is_digit(data[i + 1]):
        i += 2
        while i < n and _is_digit(data[i]):
            i += 1
    if i < n - 1 and (data[i] == 0x65 or data[i] == 0x45):
        e_start = i
        i += 1
        if i < n - 1 and (data[i] == 0x2D or data[i] == 0x2B):
            i += 1
        while i < n and _is_digit(data[i]):
            i += 1
        if not _is_digit(data[i - 1]):
            i = e_start
    return i


def _scan_key(data: bytes, i: int, n: int, seen: list, duplicates: list) -> int:
    """Scan `"key":` at i; returns the index of the value after it."""
    if i >= n or data[i] != 0x22:
        raise JsonError(i, "key", 0x7B)
    end = _scan_string(data, i, n)
    key = bytes(data[i + 1 : end - 1])
    if key in seen:
        duplicates.append((i, key.decode()))
    else:
        seen.append(key)
    i = _skip_ws(data, end, n)
    if i >= n or data[i] != 0x3A:
        raise JsonError(i, "colon", 0x7B)
    return _skip_ws(data, i + 1, n)


def scan(data: bytes) -> list:
    """Raise JsonError at the first syntax error; return [(pos, key)] of repeated keys."""
    n = len(data)
    stack: list = []  # ord("[") / ord("{") of each open container
    keys: list = []  # keys seen so far in each open object
    duplicates: list = []
    i = _skip_ws(data, 0, n)
    expect_value = True
    while True:
        if expect_value:
            if i >= n:
                raise JsonError(i, "value", stack[-1] if stack else 0)
            c = data[i]
            if c == 0x7B:  # {
                i = _skip_ws(data, i + 1, n)
                if i < n and data[i] == 0x7D:
                    i += 1
                else:
                    stack.append(0x7B)
                    keys.append([])
                    i = _scan_key(data, i, n, keys[-1], duplicates)
                    continue
            elif c == 0x5B:  # [
                i = _skip_ws(data, i + 1, n)
                if i < n and data[i] == 0x5D:
                    i += 1
                else:
                    stack.append(0x5B)
                    continue
            elif c == 0x22:
                i = _scan_string(data, i, n)
            elif c == 0x2D and data[i : i + 9] == b"-Infinity":
                raise JsonError(i, "nan")
            elif c == 0x2D or _is_digit(c):
                i = _scan_number(data, i, n)
            elif c == 0x74 and data[i : i + 4] == b"true":
                i += 4
            elif c == 0x66 and data[i : i + 5] == b"false":
                i += 5
            elif c == 0x6E and data[i : i + 4] == b"null":
                i += 4
            elif data[i : i + 3] == b"NaN" or data[i : i + 8] == b"Infinity":
                raise JsonError(i, "nan")
            else:
                raise JsonError(i, "value", stack[-1] if stack else 0)
            expect_value = False
        i = _skip_ws(data, i, n)
        if not stack:
            if i < n:
                raise JsonError(i, "extra")
            return duplicates
        top = stack[-1]
        close = 0x5D if top == 0x5B else 0x7D
        if i < n and data[i] == close:
            stack.pop()
            if top == 0x7B:
                keys.pop()
            i += 1
            continue
        if i >= n or data[i] != 0x2C:
            raise JsonError(i, "comma", top)
        comma = i
        i = _skip_ws(data, i + 1, n)
        if i < n and data[i] == close:
            raise JsonError(comma, "trailing_comma", top)
        if top == 0x7B:
            i = _scan_key(data, i, n, keys[-1], duplicates)
        expect_value = True


def line_column(data: bytes, pos: int) -> tuple:
    """1-based line and character column of byte pos, counted as CPython's json counts."""
    line = 1
    column = 1
    for i in range(pos):
        c = data[i]
        if c == 0x0A:
            line += 1
            column = 1
        elif c & 0xC0 != 0x80:  # not a UTF-8 continuation byte
            column += 1
    return line, column


def error_message(data: bytes, e: JsonError, empty_fix: str) -> str:
    """What is wrong at e.pos and the fix; empty_fix ends the message for an empty file."""
    n = len(data)
    found = data[e.pos] if e.pos < n else -1
    in_list = e.container == 0x5B
    close = '"]"' if in_list else '"}"'
    kind = e.kind
    if found == -1 and kind in ("value", "key", "colon", "comma"):
        if e.container:
            what = "a list" if in_list else "an object"
            return "the file ends inside %s; add the missing %s (or the text was cut short)" % (
                what,
                close,
            )
        return "the file is empty or ends too early; " + empty_fix
    if kind == "value":
        if found == 0x27:
            return 'text must be in double quotes ("..."), not single quotes'
        if found == 0x5D or found == 0x7D:
            return "expected a value before %s" % _show_byte(found)
        if 0x41 <= found <= 0x5A or 0x61 <= found <= 0x7A:
            return (
                'expected a value; text must be in double quotes ("...") and true, false, '
                "null in lower case"
            )
        return 'expected a value (a number, "text", true, false, null, [list] or {object})'
    if kind == "key":
        if found == 0x27:
            return 'keys must be in double quotes ("name"), not single quotes'
        return 'expected a key in double quotes, like "name"'
    if kind == "colon":
        return 'expected ":" after the key'
    if kind == "comma":
        if in_list:
            return 'expected "," or "]" after a list item; add the missing comma'
        return 'expected "," or "}" after a value; add the missing comma'
    if kind == "trailing_comma":
        return "comma before %s; remove the last comma" % close
    if kind == "extra":
        return "extra text after the end of the JSON; remove it (or a } or ] closes too early)"
    if kind == "unterminated":
        return 'text in quotes is never closed; add the closing "'
    if kind == "control":
        if found == 0x0A or found == 0x0D:
            return 'line break inside text in quotes; close it with " before the line ends'
        if found == 0x09:
            return "tab inside text in quotes; write \\t or a space"
        return "control character inside text in quotes; remove it"
    if kind == "escape":
        return "unknown escape in text; write \\\\ for a backslash"
    if kind == "uescape":
        return "\\u in text must be followed by 4 hex digits, like \\u00e9"
    if kind == "nan":
        return "NaN and Infinity are not JSON numbers; write a number"
    return "invalid JSON"


def _show_byte(c: int) -> str:
    return '"' + chr(c) + '"'


def find_json_error(text: str) -> tuple | None:
    """The first JSON syntax error in text as (line, column, kind), or None if it is valid.

    Positions are counted as CPython's json.JSONDecodeError counts them (lineno, colno).
    kind is one of: value, key, colon, comma, trailing_comma, extra, unterminated,
    control, escape, uescape, nan.
    """
    data = text.encode("utf-8")
    try:
        scan(data)
    except JsonError as e:
        line, column = line_column(data, e.pos)
        return (line, column, e.kind)
    return None


def json_kind(value):
    """What a JSON value is, in the words the checks' messages use."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return 'the text "' + value + '"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "the number " + str(value)


def is_int(value):
    """A JSON whole number (true and false are not)."""
    return isinstance(value, int) and not isinstance(value, bool)
