"""``dockerforge check``: does every committed file equal its rendering?"""

from __future__ import annotations

from dataclasses import dataclass

from dockerforge.diffs import unified_diff
from dockerforge.fsutil import normalize_newlines, read_if_exists
from dockerforge.model import Manifest
from dockerforge.render import RenderedFile, render_files


@dataclass(frozen=True)
class FileCheck:
    rendered: RenderedFile
    committed: str | None  # None when the file does not exist

    @property
    def path(self) -> str:
        return self.rendered.path

    @property
    def drifted(self) -> bool:
        # Line endings are the checkout's business (git autocrlf), not drift.
        return self.committed is None or normalize_newlines(self.committed) != self.rendered.text

    def diff(self) -> str:
        old = None if self.committed is None else normalize_newlines(self.committed)
        return unified_diff(self.path, old, self.rendered.text)


def check(manifest: Manifest, names: list[str] | None) -> list[FileCheck]:
    return [
        FileCheck(f, read_if_exists(manifest.root, f.path)) for f in render_files(manifest, names)
    ]
