"""The environment an ECS task definition must give one service.

Three sources, in this order: what the image itself relies on (``NODE_ENV``, and ``PORT`` for
an HTTP service), what the manifest declares (``env:``), and what start-up checks in the code
that ships in the image require when they are called (``validateRequiredEnvVars()`` in the
example's shared package). The audit lists the result per service and `dockerforge ecs` turns it
into ``environment`` and ``secrets`` entries, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dockerforge.model import Service
from dockerforge.sources import Call, EnvGroup, EnvValidator, PackageSources

NODE_ENV = "NODE_ENV"
PORT = "PORT"


@dataclass(frozen=True)
class TaskVariable:
    name: str
    value: str | None  # a plain value for `environment`; None: a secret the task injects
    source: str  # why the task needs it, in words

    @property
    def secret(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Missing:
    """Variables a start-up check requires that the manifest does not declare."""

    call: Call
    group: EnvGroup
    names: tuple[str, ...]  # the undeclared ones (for a one-of group: all of them)


@dataclass(frozen=True)
class TaskEnv:
    service: Service
    variables: tuple[TaskVariable, ...]
    validators: tuple[EnvValidator, ...]  # defined in the packages the image ships
    calls: tuple[Call, ...]  # calls of them in those packages
    missing: tuple[Missing, ...]

    @property
    def environment(self) -> tuple[TaskVariable, ...]:
        return tuple(v for v in self.variables if not v.secret)

    @property
    def secrets(self) -> tuple[TaskVariable, ...]:
        return tuple(v for v in self.variables if v.secret)

    def describe(self) -> str:
        parts = [f"{v.name}={v.value}" if v.value is not None else v.name for v in self.variables]
        return ", ".join(parts)


def task_env(
    root: Path, service: Service, sources: Callable[[str], PackageSources], manifest_where: str
) -> TaskEnv:
    """The variables ``service``'s task needs; ``sources(path)`` reads a package's code.

    ``manifest_where`` says where ``service.env`` was declared (say ``dockerforge.yaml:12``).
    """
    variables: dict[str, TaskVariable] = {
        NODE_ENV: TaskVariable(NODE_ENV, "production", "the image runs in production mode")
    }
    if service.is_http and service.port is not None:
        variables[PORT] = TaskVariable(PORT, str(service.port), "the port the service listens on")
    for name in service.env:
        variables.setdefault(name, TaskVariable(name, None, f"declared in {manifest_where}"))

    packages = [sources(project.path) for project in service.runtime_projects] or [
        sources(service.path)
    ]
    validators = tuple(v for package in packages for v in package.validators)
    calls = tuple(call for package in packages for call in package.calls(validators))
    missing: list[Missing] = []
    for call in calls:
        where = f"{call.file.relative_to(root).as_posix()}:{call.line} {call.validator.name}()"
        groups = list(call.validator.groups)
        if call.names:
            groups.append(EnvGroup(call.names))
        for group in groups:
            if group.one_of:
                if not any(name in variables for name in group.names):
                    missing.append(Missing(call, group, group.names))
                    first = group.names[0]
                    variables[first] = TaskVariable(first, None, f"{where}: {group.describe()}")
                continue
            undeclared = tuple(name for name in group.names if name not in variables)
            if undeclared:
                missing.append(Missing(call, group, undeclared))
            for name in undeclared:
                variables[name] = TaskVariable(name, None, f"required by {where}")
    return TaskEnv(service, tuple(variables.values()), validators, calls, tuple(missing))
