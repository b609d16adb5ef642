"""Safe writes: atomic, idempotent, and never outside the repository."""

from __future__ import annotations

import codecs
import os
import stat
import tempfile
from pathlib import Path

from dockerforge.errors import Location, UserError

DEFAULT_MODE = 0o644


def inside(root: Path, relative: str) -> Path:
    """The real path of ``relative`` under ``root``, refusing anything that leaves it.

    Symlinks are followed first, so a link pointing out of the repository is refused too.
    """
    root = root.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise UserError(f"refusing to touch {relative}: it resolves outside the repository")
    return target


def read_if_exists(root: Path, relative: str) -> str | None:
    """A text file's content (line endings as written), or None when it does not exist."""
    path = inside(root, relative)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise UserError("expected a file, found a folder", Location(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError("file is not valid UTF-8 text", Location(path, line)) from None


def uses_crlf(text: str | None) -> bool:
    return text is not None and "\r\n" in text


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n")


def write_atomic(root: Path, relative: str, text: str) -> bool:
    """Write ``text`` to ``relative`` under ``root``; return False when nothing changed.

    The new content goes to a temporary file in the same folder and is renamed over the old
    one, so a reader never sees half a file. An existing file keeps its mode, its line
    endings (CRLF stays CRLF) and its UTF-8 byte order mark.
    """
    path = inside(root, relative)
    old = read_if_exists(root, relative)
    if uses_crlf(old):
        text = normalize_newlines(text).replace("\n", "\r\n")
    if old == text:
        return False
    if old is not None and path.read_bytes().startswith(codecs.BOM_UTF8):
        text = "\ufeff" + text
    mode = stat.S_IMODE(path.stat().st_mode) if old is not None else DEFAULT_MODE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return True


def write_files(root: Path, files: list[tuple[str, str]]) -> list[bool]:
    """Write several files; every path is checked before the first write.

    A path that leaves the repository (or an unreadable existing file) stops the whole batch
    with nothing written.
    """
    for relative, _ in files:
        read_if_exists(root, relative)  # refuses paths outside the repository and bad files
    return [write_atomic(root, relative, text) for relative, text in files]
