"""The preset editor: presets.json as routing matrices in the browser.

    python -m editor [FILE] [--port N]      (make editor)

A local web server (127.0.0.1 only) over the project's own code: the validator of
lib/switchyard/presets.py (the messages tools/check.py prints), the simulator for "try it",
and tools/deploy.py's checks and atomic write for saving onto a CIRCUITPY drive. The page is
plain HTML, CSS and JavaScript in editor/static.

    document.py   open, format and validate a presets document
    tryit.py      play the studio scenario or a .mid through the simulated box
    drive.py      write presets.json onto a CIRCUITPY drive
    server.py     the HTTP API and the static files
"""
