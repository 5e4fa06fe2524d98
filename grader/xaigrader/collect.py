"""Checking what an instructor downloaded from the learning platform, before nbgrader collects it.

``downloaded/<lab>/archive/`` holds the platform's files as they came: notebooks named
``<student-id>_<lab>.ipynb`` and zip files of them. :func:`check_downloads` opens every zip
safely (no member may leave its folder, be a link, or unpack to more than a size limit), and
copies each acceptable notebook into ``downloaded/<lab>/checked/``, which ``nbgrader
zip_collect`` then collects. What it does not copy is listed with the reason, and the rest
of the class is collected regardless:

- a zip that is corrupted, unsafe or too large;
- a file whose name is not ``<student-id>_<lab>.ipynb`` (it would become a phantom student
  or notebook);
- a student id that is not on the class list, when the gradebook has one
  (``nbgrader db student import``);
- two different files for the same student (which one counts is the instructor's call).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_UNPACKED = 256 * 1024**2  # bytes a zip may unpack to
MAX_MEMBERS = 2000


@dataclass
class Downloads:
    """What :func:`check_downloads` accepted and what it skipped (path -> reason)."""

    accepted: dict[str, Path] = field(default_factory=dict)  # student id -> checked copy
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def _files(archive: Path, downloads: Downloads, staging: Path) -> list[tuple[str, bytes]]:
    """Every file in the archive folder and inside its zips, as (shown name, content)."""
    found = []
    for path in sorted(p for p in archive.rglob("*") if p.is_file() or p.is_symlink()):
        shown = str(path.relative_to(archive))
        if path.is_symlink():
            downloads.skipped.append((shown, "a symbolic link, not a file"))
            continue
        if path.suffix.lower() == ".zip":
            found += _unzip(path, shown, downloads)
        else:
            found.append((shown, path.read_bytes()))
    return found


def _unzip(path: Path, shown: str, downloads: Downloads) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > MAX_UNPACKED:
                downloads.skipped.append((shown, "the zip unpacks to too many files or bytes"))
                return []
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                mode = member.external_attr >> 16
                if name.is_absolute() or ".." in name.parts or stat.S_ISLNK(mode):
                    downloads.skipped.append((shown, f"unsafe member {member.filename!r} (a path outside the zip "
                                                     "or a link): the whole zip is skipped"))
                    return []
            out = []
            for member in members:
                data = zf.read(member)
                if len(data) != member.file_size:
                    raise zipfile.BadZipFile("size mismatch")
                out.append((f"{shown}/{member.filename}", data))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError) as exc:
        downloads.skipped.append((shown, f"not a readable zip ({type(exc).__name__})"))
        return []


def check_downloads(root: Path, lab: str, student_id: str, roster: set[str] | None = None) -> Downloads:
    """Fill ``downloaded/<lab>/checked/`` with the notebooks nbgrader may collect (see module doc)."""
    archive = root / "downloaded" / lab / "archive"
    checked = root / "downloaded" / lab / "checked"
    shutil.rmtree(checked, ignore_errors=True)
    checked.mkdir(parents=True)
    downloads = Downloads()
    if not archive.is_dir():
        return downloads
    pattern = re.compile(rf"(?P<student>{student_id})_{re.escape(lab)}\.ipynb")
    by_student: dict[str, list[tuple[str, bytes]]] = {}
    for shown, data in _files(archive, downloads, checked):
        name = PurePosixPath(shown).name
        match = pattern.fullmatch(name)
        if not match:
            if name.endswith(".ipynb") or "." not in name:
                downloads.skipped.append((shown, f"not named <student-id>_{lab}.ipynb (the id made of letters, "
                                                 "digits, '.' and '-')"))
            else:
                downloads.skipped.append((shown, "not a notebook"))
            continue
        student = match["student"]
        if roster and student not in roster:
            downloads.skipped.append((shown, f"student id {student!r} is not on the class list in the gradebook"))
            continue
        by_student.setdefault(student, []).append((shown, data))
    for student, files in sorted(by_student.items()):
        if len({hashlib.sha256(data).hexdigest() for _, data in files}) > 1:
            for shown, _ in files:
                downloads.skipped.append((shown, f"{len(files)} different uploads by {student}: none is collected; "
                                                 "keep the one that counts and collect again"))
            continue
        target = checked / f"{student}_{lab}.ipynb"
        target.write_bytes(files[0][1])
        downloads.accepted[student] = target
    return downloads
