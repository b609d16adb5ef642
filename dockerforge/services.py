"""The services a read-only command works on, with or without a ``dockerforge.yaml``.

``audit`` and ``ecs`` must work on a repository that has not adopted dockerforge yet. With a
manifest they use it; without one they use the manifest ``dockerforge init`` would write
(inferred, then loaded by the real loader), so there is one inference, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dockerforge.errors import UserError
from dockerforge.manifest import MANIFEST_NAME, find_repo, load_manifest
from dockerforge.model import Manifest, Service
from dockerforge.render import select_services


@dataclass(frozen=True)
class ServiceSet:
    root: Path
    model: Manifest  # the manifest, or the inferred one (for rendering)
    declared: bool  # True when the repository has its own dockerforge.yaml
    services: tuple[Service, ...]

    @property
    def manifest(self) -> Manifest | None:
        """The repository's own manifest, None when the services were inferred."""
        return self.model if self.declared else None


def load_services(repo: Path | None, names: list[str] | None) -> ServiceSet:
    root, declared = _locate(repo)
    if declared:
        model = load_manifest(root)
    else:
        from dockerforge.commands.init import init

        model = init(root, write=False).manifest
    return ServiceSet(root, model, declared, tuple(select_services(model, names)))


def _locate(repo: Path | None) -> tuple[Path, bool]:
    """The monorepo root, and whether it has a manifest."""
    if repo is not None:
        root = repo.resolve()
        if not root.is_dir():
            raise UserError(f"--repo {repo}: no such folder")
        return root, (root / MANIFEST_NAME).is_file()
    try:
        return find_repo(Path.cwd()), True
    except UserError:
        pass
    start = Path.cwd().resolve()
    for folder in (start, *start.parents):
        if (folder / "pnpm-workspace.yaml").is_file() or _declares_workspaces(folder):
            return folder, False
    raise UserError(
        f"no {MANIFEST_NAME}, pnpm-workspace.yaml or package.json with `workspaces` in {start} "
        "or any parent folder (pass --repo)"
    )


def _declares_workspaces(folder: Path) -> bool:
    """A root package.json with a ``workspaces`` field (npm and yarn monorepos)."""
    manifest = folder / "package.json"
    try:
        return manifest.is_file() and '"workspaces"' in manifest.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
