"""``dockerforge render``: write the renderings to the repository."""

from __future__ import annotations

from dataclasses import dataclass

from dockerforge.fsutil import write_files
from dockerforge.model import Manifest
from dockerforge.render import render_files


@dataclass(frozen=True)
class Written:
    path: str
    changed: bool


def render(manifest: Manifest, names: list[str] | None) -> list[Written]:
    """Render everything first (so a mistake writes nothing), then write what changed."""
    files = render_files(manifest, names)
    changed = write_files(manifest.root, [(f.path, f.text) for f in files])
    return [Written(f.path, c) for f, c in zip(files, changed, strict=True)]
