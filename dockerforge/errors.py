"""Errors a user can cause, each with the place it comes from.

Every mistake in a manifest, a package.json or a flag becomes a :class:`UserError`. The CLI
prints it as ``file:line:col: message`` and exits 2; users never see a traceback for their
own mistakes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Location:
    """A place in a file; ``line`` and ``col`` are 1-based and optional."""

    path: Path
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        text = display_path(self.path)
        if self.line is not None:
            text += f":{self.line}"
            if self.col is not None:
                text += f":{self.col}"
        return text


class UserError(Exception):
    """A mistake the user can fix: reported as one line, exit code 2."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


def display_path(path: Path) -> str:
    """Show ``path`` relative to the working directory when it lies below it."""
    if not Path(path).is_absolute():
        return str(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative
