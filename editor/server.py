"""The editor's HTTP server: the page from editor/static and a small JSON API, 127.0.0.1 only.

    GET  /                 the page (static/index.html); /static/NAME its CSS and JavaScript
    GET  /api/meta         ports, message types with their musician names, panel labels, limits
    GET  /api/start        the file the editor was started on, opened
    GET  /api/studio       the shipped presets.json (the studio's), opened
    GET  /api/drives       CIRCUITPY drives found where tools/deploy.py looks
    POST /api/validate     {"doc", "filename"}: the text a save writes, errors, warnings
    POST /api/open         a presets file's bytes (header X-Filename): the document, messages
    POST /api/try          {"text", "filename", "preset", "source", ...}: report and plots
    POST /api/save         {"text", "drive", "name"}: written onto the drive, or refused
    POST /api/monitor/start {"source": "box"|"sim", ...}: the Monitor's feed (monitorfeed.py)
    GET  /api/monitor/poll ?since=N: its events from number N on, and its state
    POST /api/monitor/stop the feed ends (the box's port is closed)

A refusal is {"error": message, "details": [...]} with a 4xx status, and changes nothing.
Requests must name this server's own loopback address as Host (a page elsewhere cannot
reach the API through a DNS name pointed here), and POSTs carry a JSON or octet-stream
content type (which a cross-site form cannot send).
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from editor import document, drive, monitorfeed, tryit
from editor.document import Problem

HOST = "127.0.0.1"  # never another interface: the API writes files
DEFAULT_PORT = 8765
STATIC = Path(__file__).resolve().parent / "static"
MAX_JSON_BYTES = 2 << 20  # a try-it request carries a .mid of up to 1 MiB as base64
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


def _try(body: dict) -> dict:
    return tryit.try_presets(
        text=_text(body),
        filename=body.get("filename") or document.DEFAULT_NAME,
        preset=body.get("preset", 1),
        source=body.get("source", "studio"),
        seconds=body.get("seconds", 8.0),
        midi_b64=body.get("midi"),
        midi_name=body.get("midi_name"),
        port=body.get("port", "A"),
    )


def _text(body: dict) -> str:
    text = body.get("text")
    if not isinstance(text, str):
        raise Problem('the request needs the presets as "text"')
    return text


GET_API = {
    "/api/meta": lambda server: {**document.meta(), "max_midi_bytes": tryit.MAX_MIDI_BYTES},
    "/api/start": lambda server: server.open_start_file(),
    "/api/studio": lambda server: document.open_studio(),
    "/api/drives": lambda server: {"drives": drive.drives()},
}
POST_JSON_API = {
    "/api/validate": lambda body: document.validate_doc(
        body.get("doc"), body.get("filename") or document.DEFAULT_NAME
    ),
    "/api/try": _try,
    "/api/save": lambda body: drive.save(_text(body), body.get("drive"), body.get("name")),
    "/api/monitor/start": monitorfeed.start,
    "/api/monitor/stop": monitorfeed.stop,
}


def _since(query: str) -> int:
    from urllib.parse import parse_qs

    try:
        return max(0, int(parse_qs(query).get("since", ["0"])[0]))
    except ValueError:
        raise Problem("since must be a whole number") from None


class EditorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, start_file: Path, port: int = DEFAULT_PORT):
        self.start_file = start_file
        super().__init__((HOST, port), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return "http://%s:%d/" % (HOST, self.port)

    def open_start_file(self) -> dict:
        try:
            data = self.start_file.read_bytes()
        except OSError as e:
            raise Problem("%s: %s" % (self.start_file, e.strerror or e)) from None
        return document.open_bytes(data, self.start_file.name)


class Handler(BaseHTTPRequestHandler):
    server: EditorServer
    protocol_version = "HTTP/1.1"
    server_version = "SwitchyardEditor"

    # ---- replies ------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _refuse(self, problem: Problem) -> None:
        self._json(problem.status, {"error": str(problem), "details": problem.details})

    def _call(self, fn, *args) -> None:
        try:
            result = fn(*args)
        except Problem as problem:
            self._refuse(problem)
            return
        except Exception as e:  # a bug: say so on the page, the traceback in the terminal
            traceback.print_exc()
            self._json(500, {"error": "the editor failed (%s); the terminal shows where" % e,
                             "details": []})
            return
        self._json(200, result)

    def log_request(self, code="-", size="-") -> None:  # noqa: ANN001
        # the page calls the API on every edit: only refusals and failures reach the terminal
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)

    # ---- requests -----------------------------------------------------------------

    def _host_ok(self) -> bool:
        allowed = {"%s:%d" % (HOST, self.server.port), "localhost:%d" % self.server.port}
        if self.headers.get("Host", "") in allowed:
            return True
        self.close_connection = True
        self._json(HTTPStatus.MISDIRECTED_REQUEST, {
            "error": "this editor answers only at %s" % self.server.url, "details": []})
        return False

    def do_GET(self) -> None:  # noqa: N802
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        if path == "/":
            self._static("index.html")
        elif path.startswith("/static/"):
            self._static(path[len("/static/") :])
        elif path in GET_API:
            self._call(GET_API[path], self.server)
        elif path == "/api/monitor/poll":
            query = urlsplit(self.path).query
            self._call(lambda: monitorfeed.poll(_since(query)))
        else:
            self._json(404, {"error": "no such page: %s" % path, "details": []})

    def _static(self, name: str) -> None:
        served = {p.name: p for p in STATIC.iterdir() if p.is_file()}  # no folders, no ..
        file = served.get(unquote(name))
        if file is None or file.suffix not in CONTENT_TYPES:
            self._json(404, {"error": "no such file: %s" % name, "details": []})
            return
        self._send(200, file.read_bytes(), CONTENT_TYPES[file.suffix])

    def _body(self, limit: int, too_big) -> bytes | None:
        """The request body, or None once a refusal is sent (the body is then not read)."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._refuse(Problem("the request has no Content-Length", status=411))
            return None
        if int(length) > limit:
            self.close_connection = True  # unread bytes follow: this connection is done
            self._refuse(too_big(int(length)))
            return None
        return self.rfile.read(int(length))

    def _content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return
        path = urlsplit(self.path).path
        if path == "/api/open":
            self._open()
        elif path in POST_JSON_API:
            self._post_json(POST_JSON_API[path])
        else:
            self.close_connection = True
            self._json(404, {"error": "no such API: %s" % path, "details": []})

    def _open(self) -> None:
        name = document.safe_name(unquote(self.headers.get("X-Filename", "")))
        if self._content_type() != "application/octet-stream":
            self.close_connection = True
            self._refuse(Problem("send the file as application/octet-stream", status=415))
            return
        data = self._body(document.MAX_PRESETS_BYTES, lambda n: document.too_big(name, n))
        if data is not None:
            self._call(document.open_bytes, data, name)

    def _post_json(self, fn) -> None:
        if self._content_type() != "application/json":
            self.close_connection = True
            self._refuse(Problem("send the request as application/json", status=415))
            return
        data = self._body(MAX_JSON_BYTES, lambda n: Problem(
            "the request is %s bytes; the editor takes at most %s"
            % (format(n, ","), format(MAX_JSON_BYTES, ",")), status=413))
        if data is None:
            return
        try:
            body = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._refuse(Problem("the request is not JSON"))
            return
        if not isinstance(body, dict):
            self._refuse(Problem("the request must be a JSON object"))
            return
        self._call(fn, body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m editor",
        description="Edit Switchyard presets in the browser (served on %s only)." % HOST,
    )
    parser.add_argument("file", nargs="?", default=str(document.STUDIO_PRESETS),
                        help="the presets file to open first (default: the repo's presets.json)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port on %s (default %d; 0 picks a free one)" % (HOST, DEFAULT_PORT))
    args = parser.parse_args(argv)
    start = Path(args.file)
    if not start.is_file():
        print("editor: %s: no such file" % start, file=sys.stderr)
        return 2
    try:
        server = EditorServer(start, args.port)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            print("editor: port %d is in use (another editor?); pick another with --port N "
                  "(make editor EDITOR_PORT=N)" % args.port, file=sys.stderr)
            return 2
        raise
    print("Switchyard preset editor: %s" % server.url)
    print("editing %s; save with Download or Write to drive. Ctrl-C stops it." % start,
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
