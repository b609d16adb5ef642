"""What an audit rule is, what it looks at and what it yields.

A rule is a small unit with a stable code, a title, why it matters, a bad and a good example,
a severity and what `dockerforge fix` can do about it. It looks at one service (its model, its
parsed Dockerfile, its package's code) or at the repository, and yields :class:`Finding`s with
a file and a line. Output formats, suppression comments and exit codes belong to the engine
(:mod:`dockerforge.audit`), never to a rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from dockerforge.dockerfile import Instruction, ParsedDockerfile, Stage
from dockerforge.manifest import MANIFEST_NAME
from dockerforge.model import Manifest, Service
from dockerforge.sources import PackageSources
from dockerforge.taskenv import TaskEnv, task_env
from dockerforge.workspace import Workspace

ERROR = "error"  # must be fixed before deploying
WARNING = "warning"  # works, but will likely break in ECS or is not reproducible
INFO = "info"  # something to do outside the Dockerfile, or to know
SEVERITIES = (ERROR, WARNING, INFO)


def severity_rank(severity: str) -> int:
    """0 for error, 1 for warning, 2 for info: lower is worse."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Fix:
    """What can be done about a finding."""

    automatic: bool  # `dockerforge fix` repairs it
    safety: str  # "safe", "review" (changes behaviour: read the diff) or "manual"
    how: str  # what the fix does, or what to do by hand

    def describe(self) -> str:
        if self.automatic:
            return f"`dockerforge fix` ({self.safety}): {self.how}"
        return f"by hand: {self.how}"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    path: str  # relative to the repository root, POSIX style
    line: int | None
    message: str
    service: str | None  # None for repository-wide findings
    suppressed: str | None = None  # the reason of the ignore comment that covers it

    @property
    def where(self) -> str:
        return self.path if self.line is None else f"{self.path}:{self.line}"

    @property
    def counts(self) -> bool:
        return self.suppressed is None


class Rule:
    """One check. Subclasses set the class attributes and override ``check`` or
    ``check_repo`` (or both)."""

    code: ClassVar[str]
    title: ClassVar[str]
    severity: ClassVar[str]
    why: ClassVar[str]
    bad: ClassVar[str]
    good: ClassVar[str]
    fix: ClassVar[Fix]

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        return iter(())

    def check_repo(self, repo: RepoTarget) -> Iterator[Finding]:
        return iter(())

    def finding(
        self, path: str, line: int | None, message: str, service: str | None = None
    ) -> Finding:
        return Finding(self.code, self.severity, path, line, message, service)

    def at(
        self, target: ServiceTarget, where: Instruction | Stage | int | None, message: str
    ) -> Finding:
        """A finding in ``target``'s Dockerfile, at an instruction, a stage's FROM or a line."""
        line = where if isinstance(where, int) or where is None else where.line
        return self.finding(target.dockerfile_path, line, message, target.name)


@dataclass
class RepoTarget:
    """The repository being audited, and everything rules may ask about it."""

    root: Path
    workspace: Workspace
    manifest: Manifest | None
    today: date
    services: list[ServiceTarget] = field(default_factory=list)
    _sources: dict[str, PackageSources] = field(default_factory=dict, repr=False)

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def sources(self, package_path: str) -> PackageSources:
        if package_path not in self._sources:
            self._sources[package_path] = PackageSources(self.root, package_path)
        return self._sources[package_path]

    @cached_property
    def is_pnpm(self) -> bool:
        manager = self.workspace.root_data.get("packageManager")
        return (
            (self.root / "pnpm-lock.yaml").is_file()
            or self.workspace.workspace_file is not None
            or (isinstance(manager, str) and manager.startswith("pnpm@"))
        )


@dataclass
class ServiceTarget:
    """One service: its model, its committed Dockerfile (parsed) and its repository."""

    repo: RepoTarget
    service: Service
    dockerfile: ParsedDockerfile | None  # None when the service has no Dockerfile yet

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def dockerfile_path(self) -> str:
        return self.service.dockerfile

    @property
    def runtime(self) -> Stage:
        assert self.dockerfile is not None
        return self.dockerfile.runtime

    @property
    def image_stages(self) -> list[Stage]:
        """The stages whose layers end up in the runtime image, first ancestor first."""
        assert self.dockerfile is not None
        return self.dockerfile.ancestry(self.dockerfile.runtime)

    @property
    def manifest_line(self) -> tuple[str, int | None]:
        """Where the service is declared: its manifest entry, or its Dockerfile."""
        if self.repo.manifest is not None:
            return MANIFEST_NAME, self.service.line
        return self.dockerfile_path, 1 if self.dockerfile is not None else None

    @cached_property
    def env(self) -> TaskEnv:
        path, line = self.manifest_line
        where = f"{path}:{line}" if line else path
        return task_env(self.repo.root, self.service, self.repo.sources, where)
