"""ECS task-definition pieces that match the images dockerforge renders.

For each service: a container definition for ``aws ecs register-task-definition`` (image,
ports, user, environment, secrets, logs and, for an HTTP service, a ``healthCheck`` that runs
the very probe of the image's HEALTHCHECK with its timings), and for an HTTP service the
matching ALB target-group health check. The HEALTHCHECK is read from the service's rendering,
so the task definition and the image cannot disagree about the path, the port or the timing.

Placeholders are left for what only the deploying account knows, written ``${NAME}`` so
``envsubst`` can fill them: ``${AWS_ACCOUNT_ID}``, ``${AWS_REGION}``, ``${IMAGE_TAG}``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockerforge.dockerfile import HealthCheck, parse_dockerfile
from dockerforge.errors import Location, UserError
from dockerforge.model import RUNTIME_UID, Manifest, Service
from dockerforge.render import environment, render_dockerfile
from dockerforge.sources import PackageSources
from dockerforge.taskenv import TaskEnv, task_env

ACCOUNT = "${AWS_ACCOUNT_ID}"
REGION = "${AWS_REGION}"
TAG = "${IMAGE_TAG}"
# What ECS accepts in a container healthCheck (seconds; retries is a count).
ECS_LIMITS = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


@dataclass(frozen=True)
class EcsService:
    service: Service
    container: dict[str, Any]  # one entry of containerDefinitions
    target_group: dict[str, Any] | None  # elbv2 health-check settings (HTTP services)

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"containerDefinitions": [self.container]}
        if self.target_group is not None:
            data["targetGroupHealthCheck"] = self.target_group
        return data


def ecs_services(
    root: Path, model: Manifest, services: tuple[Service, ...], *, declared: bool = True
) -> list[EcsService]:
    """The ECS pieces of ``services``; ``model`` is the manifest (or the inferred one)."""
    env = environment(model)
    prefix = model.scope.lstrip("@") if model.scope else model.root.name
    sources: dict[str, PackageSources] = {}

    def read(path: str) -> PackageSources:
        return sources.setdefault(path, PackageSources(root, path))

    found = []
    for service in services:
        where = f"{model.file.name}:{service.line}" if declared else "the inferred manifest"
        variables = task_env(root, service, read, where)
        rendered = render_dockerfile(model, service, env)
        parsed = parse_dockerfile(root / service.dockerfile, rendered)
        probe = parsed.healthcheck(parsed.runtime)
        if probe is not None and probe.disabled:
            probe = None
        found.append(_service(prefix, service, variables, probe))
    return found


def _service(
    prefix: str, service: Service, variables: TaskEnv, probe: HealthCheck | None
) -> EcsService:
    container: dict[str, Any] = {
        "name": service.name,
        "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{prefix}/{service.name}:{TAG}",
        "essential": True,
        "user": str(RUNTIME_UID),
    }
    if service.is_http and service.port is not None:
        container["portMappings"] = [{"containerPort": service.port, "protocol": "tcp"}]
    container["environment"] = [
        {"name": v.name, "value": v.value} for v in variables.environment if v.value is not None
    ]
    if variables.secrets:
        container["secrets"] = [
            {
                "name": v.name,
                "valueFrom": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{prefix}/{v.name}",
            }
            for v in variables.secrets
        ]
    target_group = None
    if service.is_http and probe is not None:
        container["healthCheck"] = _health_check(service, probe)
        target_group = _target_group(service, probe)
    container["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": f"/ecs/{prefix}/{service.name}",
            "awslogs-region": REGION,
            "awslogs-stream-prefix": service.name,
        },
    }
    return EcsService(service, container, target_group)


def _health_check(service: Service, probe: HealthCheck) -> dict[str, Any]:
    check = {
        "command": ["CMD-SHELL", shell_command(probe.command)],
        "interval": probe.interval,
        "timeout": probe.timeout,
        "retries": probe.retries,
        "startPeriod": probe.start_period,
    }
    for key, (low, high) in ECS_LIMITS.items():
        value = check[key]
        assert isinstance(value, int)
        if not low <= value <= high:
            raise UserError(
                f"{service.name}: the HEALTHCHECK's {key} is {value}s, outside what an ECS "
                f"health check accepts ({low}-{high}); change it in the template",
                Location(Path(service.dockerfile), probe.instruction.line),
            )
    return check


def _target_group(service: Service, probe: HealthCheck) -> dict[str, Any]:
    """ALB target-group settings: same path and port as the image, 200 only."""
    return {
        "HealthCheckEnabled": True,
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": str(service.port),
        "HealthCheckPath": service.health,
        "HealthCheckIntervalSeconds": probe.interval,
        "HealthCheckTimeoutSeconds": probe.timeout,
        "UnhealthyThresholdCount": min(max(probe.retries, 2), 10),  # ALB accepts 2-10
        "Matcher": {"HttpCode": "200"},
    }


def shell_command(command: list[str] | str | None) -> str:
    """An exec-form probe as one ``sh -c`` line (CMD-SHELL), quoted for humans to read."""
    if command is None:
        return "exit 0"
    if isinstance(command, str):
        return command
    return " ".join(_quote(word) for word in command)


def _quote(word: str) -> str:
    if _SAFE_WORD.fullmatch(word):
        return word
    if not any(char in word for char in '"$`\\!'):
        return f'"{word}"'
    return shlex.quote(word)
