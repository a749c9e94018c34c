"""Write presets onto a CIRCUITPY drive through tools/deploy.py's own checks and write.

The steps `deploy.py --presets FILE` takes for that file, by the same functions:
check_drive (a CircuitPython drive, with a boot_out.txt), validate_presets (the checkout's
validator in a clean interpreter; a file with errors is refused), check_writable, then
stage_file and commit_file: the file is written in full under a temporary name and renamed
over the old one, so a cable pulled mid-write leaves the old presets.json in place.
Only the presets file is written; the firmware on the drive is left as it is.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

from editor.document import DEFAULT_NAME, REPO, Problem
from tools import deploy


def drives() -> list[str]:
    """CIRCUITPY drives mounted where deploy.py looks for them."""
    return [str(p) for p in deploy.find_drives()]


def _outside(name: str, drive: Path) -> Problem:
    return Problem(
        "%s is outside the drive's top folder %s; the box reads presets.json from the top of "
        "CIRCUITPY, so give a file name only, like presets.json. Nothing was written"
        % (name, drive)
    )


def target_name(drive: Path, name: str | None) -> str:
    """The file name at the top of drive that name means, or Problem if it points elsewhere."""
    name = (name or DEFAULT_NAME).strip()
    rel = PurePosixPath(name.replace("\\", "/"))
    if rel.is_absolute() or len(rel.parts) != 1 or rel.name in ("", ".", ".."):
        raise _outside(name, drive)
    if rel.suffix.lower() != ".json":
        raise Problem("%s: a presets file ends in .json; nothing was written" % name)
    root = drive.resolve()
    if (drive / rel.name).resolve().parent != root:  # a link on the drive pointing away
        raise _outside(name, drive)
    return rel.name


def save(text: str, drive: str | None, name: str | None = DEFAULT_NAME) -> dict:
    """Check text and write it to drive/name; what was written and the warnings."""
    if not isinstance(text, str):
        raise Problem("no presets text came with the request")
    if not drive or not str(drive).strip():
        raise Problem(
            "name the CIRCUITPY drive: the folder it is mounted at, like /media/you/CIRCUITPY"
        )
    drive_path = Path(str(drive).strip()).expanduser()
    notes: list[str] = []
    data = text.encode("utf-8")
    if not drive_path.is_dir():
        raise Problem(
            "%s is not a folder: plug the box in and give the folder CIRCUITPY is mounted at"
            % drive_path
        )
    try:
        deploy.check_drive(drive_path, False, notes.append)
        rel = target_name(drive_path, name)
        with tempfile.TemporaryDirectory(prefix="switchyard-save-") as folder:
            staged = Path(folder) / rel
            staged.write_bytes(data)
            errors, warnings = deploy.validate_presets(REPO, staged)
        # the validator names the file it was given: the temporary copy
        errors = [e.replace(str(staged), rel) for e in errors]
        warnings = [w.replace(str(staged), rel) for w in warnings]
        if errors:
            count = len(errors)
            raise Problem(
                "%s has %d error%s, so it was not written to %s (the box would run its safe "
                "default)" % (rel, count, "" if count == 1 else "s", drive_path),
                status=422,
                details=errors,
            )
        deploy.check_writable(drive_path)
        temp = deploy.stage_file(drive_path, rel, data)
        deploy.commit_file(temp, drive_path / rel)
    except deploy.Refused as refusal:
        raise Problem(str(refusal)) from None
    except OSError as error:
        raise Problem(
            "writing %s stopped: %s. The presets.json already on the drive is unchanged; "
            "write again" % (drive_path, error.strerror or error)
        ) from None
    return {"saved": str(drive_path / rel), "bytes": len(data), "warnings": notes + warnings}
