"""``dockerforge ecs``: task-definition pieces per service, printed or written."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from dockerforge.ecs import EcsService, ecs_services
from dockerforge.errors import UserError
from dockerforge.fsutil import write_files
from dockerforge.services import ServiceSet


@dataclass(frozen=True)
class Written:
    path: str
    changed: bool


def fragments(selection: ServiceSet) -> list[EcsService]:
    return ecs_services(
        selection.root, selection.model, selection.services, declared=selection.declared
    )


def as_json(found: list[EcsService]) -> str:
    return json.dumps({e.service.name: e.as_data() for e in found}, indent=2) + "\n"


def files(found: list[EcsService], folder: str) -> dict[str, str]:
    """``<service>.containers.json`` (for ``--container-definitions file://...``) and, for an
    HTTP service, ``<service>.target-group.json`` (for ``aws elbv2 modify-target-group
    --cli-input-json file://...``)."""
    prefix = "" if folder in ("", ".") else f"{folder}/"
    texts = {}
    for item in found:
        name = item.service.name
        texts[f"{prefix}{name}.containers.json"] = json.dumps([item.container], indent=2) + "\n"
        if item.target_group is not None:
            texts[f"{prefix}{name}.target-group.json"] = (
                json.dumps(item.target_group, indent=2) + "\n"
            )
    return texts


def write(selection: ServiceSet, found: list[EcsService], out: Path) -> list[Written]:
    """Compute every file first, then write them (inside the repository only)."""
    relative = os.path.relpath(out.resolve(), selection.root)
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        raise UserError(f"--out {out}: must be a folder inside the repository {selection.root}")
    folder = Path(relative).as_posix()
    texts = files(found, folder)
    changed = write_files(selection.root, list(texts.items()))
    return [Written(path, c) for path, c in zip(texts, changed, strict=True)]
