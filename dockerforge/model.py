"""The validated model that every command works from.

Data flows one way: ``dockerforge.yaml`` (plus the package.json files it points at) is loaded
and checked once by :mod:`dockerforge.manifest` into these frozen objects; templates render
them; commands compare, diff or write the renderings. Nothing downstream re-reads the YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockerforge.workspace import Workspace

# Where every workspace package sits in the images: /app/<its folder in the repository>.
APP_ROOT = "/app"
RUNTIME_UID = 1001
RUNTIME_USER = "nodejs"
BUILD_TOOLCHAIN = ("python3", "make", "g++")


@dataclass(frozen=True)
class Rewrite:
    """One dependency spec in a runtime package.json that must change to resolve there."""

    dependency: str
    original: str  # e.g. "workspace:*" or "catalog:"
    spec: str  # e.g. "file:../../shared" or "^3.23.8"

    @property
    def protocol(self) -> str:
        """The part of the original spec the rewrite matches: ``workspace:`` or ``catalog:``."""
        return self.original.split(":", 1)[0] + ":"


@dataclass(frozen=True)
class Project:
    """A workspace package inside one service's image."""

    name: str  # npm package name, e.g. "@kodingcaravan/shared"
    path: str  # folder in the repository, e.g. "shared"; also its place under /app
    build: bool  # has a "build" script, run with pnpm --filter
    runtime: bool  # shipped in the runtime image (else only needed to install or build)
    output: str  # folder the build writes and the runtime image ships, e.g. "dist"
    rewrites: tuple[Rewrite, ...] = ()

    @property
    def app_path(self) -> str:
        return f"{APP_ROOT}/{self.path}"


@dataclass(frozen=True)
class ImageDefaults:
    node: str  # base image of every stage, e.g. "node:18-alpine"
    family: str  # "alpine" or "debian"
    pnpm: str  # pnpm version installed in the build stages


@dataclass(frozen=True)
class Service:
    name: str
    kind: str  # "http" or "worker"
    path: str  # folder in the repository
    package: str  # npm package name
    port: int | None
    health: str | None
    entrypoint: str
    env: tuple[str, ...]
    deps: tuple[str, ...]  # extra services needed at runtime (beyond package.json)
    projects: tuple[Project, ...]  # build order; the service itself is last
    line: int | None = None  # where the service is declared in the manifest

    @property
    def is_http(self) -> bool:
        return self.kind == "http"

    @property
    def dockerfile(self) -> str:
        return f"{self.path}/Dockerfile"

    @property
    def workdir(self) -> str:
        return f"{APP_ROOT}/{self.path}"

    @property
    def own_project(self) -> Project:
        return self.projects[-1]

    @property
    def runtime_projects(self) -> tuple[Project, ...]:
        return tuple(p for p in self.projects if p.runtime)


@dataclass(frozen=True)
class Manifest:
    file: Path
    root: Path
    scope: str | None  # npm scope of the workspace packages; None when they are unscoped
    shared: str | None  # folder of the shared package
    services_dir: str
    build_files: tuple[str, ...]
    image: ImageDefaults
    templates: Path | None
    services: tuple[Service, ...]
    # What the package.json files said when the manifest was resolved (read once, reused).
    workspace: Workspace = field(repr=False, compare=False)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def package_name(self, name: str) -> str:
        """The npm name a new package called ``name`` gets in this workspace."""
        return f"{self.scope}/{name}" if self.scope else name

    @property
    def output_dirs(self) -> tuple[str, ...]:
        """Every build output folder name the images ship (kept out of the build context)."""
        return tuple(sorted({p.output for s in self.services for p in s.projects}))
