"""HEALTHCHECK in the image, and what ECS does with it: DF111-DF114."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockerforge.rules.base import INFO, WARNING, Finding, Fix, Rule, ServiceTarget

RERENDER = "re-renders the HEALTHCHECK from the manifest's port and health path"
_USES_PORT = re.compile(r"process\.env\.PORT\b|process\.env\[['\"]PORT['\"]\]|\$\{?PORT\b")
_PATH_END = r"(?![A-Za-z0-9._~/%-])"
# An HTTP probe: a URL, curl or wget, node's http module, or a health path.
_HTTP_PROBE = re.compile(
    r"https?://|\bcurl\b|\bwget\b|require\(\s*['\"]https?['\"]\s*\)|/health|/ready|/live"
)
GOOD_PROBE = (
    "HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\\n"
    '  CMD ["node", "-e", "require(\'http\').get({host: \'127.0.0.1\', port: process.env.PORT, '
    "path: '/health', timeout: 4000}, (res) => process.exit(res.statusCode === 200 ? 0 : 1))"
    ".on('error', () => process.exit(1))\"]"
)


class HttpWithoutHealthcheck(Rule):
    code = "DF111"
    title = "HTTP service image without a HEALTHCHECK"
    severity = WARNING
    why = (
        "Without a HEALTHCHECK, `docker ps`, docker compose and local smoke tests cannot tell a "
        "hung service from a healthy one, and the ECS health check has no tested counterpart in "
        "the image to be copied from."
    )
    bad = 'EXPOSE 3000\nCMD ["node", "dist/index.js"]'
    good = f"ENV PORT=3000\nEXPOSE 3000\n{GOOD_PROBE}"
    fix = Fix(True, "safe", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None or not target.service.is_http:
            return
        probe = target.dockerfile.healthcheck(target.runtime)
        if probe is None or probe.disabled:
            path = target.service.health
            yield self.at(
                target,
                probe.instruction if probe else target.runtime,
                f"HTTP service on port {target.service.port} has no HEALTHCHECK (GET {path})",
            )


class WorkerWithHealthcheck(Rule):
    code = "DF112"
    title = "Worker image with an HTTP HEALTHCHECK"
    severity = WARNING
    why = (
        "A worker serves no HTTP, so an HTTP probe always fails: Docker marks the container "
        "unhealthy, and a task definition health check copied from it makes ECS replace a "
        "working task again and again. (A probe of the process itself is fine.)"
    )
    bad = 'HEALTHCHECK CMD wget -q -O- http://127.0.0.1:3000/health\nCMD ["node", "dist/index.js"]'
    good = 'CMD ["node", "dist/index.js"]   # workers: no HEALTHCHECK'
    fix = Fix(True, "safe", "re-renders the worker without a HEALTHCHECK")

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None or target.service.is_http:
            return
        probe = target.dockerfile.healthcheck(target.runtime)
        if probe is not None and not probe.disabled and _HTTP_PROBE.search(probe.text):
            yield self.at(
                target,
                probe.instruction,
                "a worker has no HTTP endpoint, so this HTTP HEALTHCHECK can only fail",
            )


class HealthcheckMismatch(Rule):
    code = "DF113"
    title = "HEALTHCHECK does not probe the service's PORT and health path"
    severity = WARNING
    why = (
        "The service listens on process.env.PORT. A probe with a hard-coded port (or another "
        "path) passes on a laptop and fails as soon as the task sets a different PORT, or "
        "checks an endpoint that does not say whether the service is healthy."
    )
    bad = "HEALTHCHECK CMD wget -q -O- http://localhost:3000/"
    good = GOOD_PROBE
    fix = Fix(True, "safe", RERENDER)

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        service = target.service
        if target.dockerfile is None or not service.is_http:
            return
        probe = target.dockerfile.healthcheck(target.runtime)
        if probe is None or probe.disabled:
            return
        problems = []
        if not _USES_PORT.search(probe.text):
            problems.append("does not read the port from PORT")
        if service.health and not re.search(re.escape(service.health) + _PATH_END, probe.text):
            problems.append(f"does not request {service.health}")
        if problems:
            yield self.at(target, probe.instruction, f"the HEALTHCHECK {' and '.join(problems)}")


class EcsIgnoresHealthcheck(Rule):
    code = "DF114"
    title = "ECS ignores the Docker HEALTHCHECK"
    severity = INFO
    why = (
        "ECS never runs an image's HEALTHCHECK: it uses the task definition's `healthCheck` "
        "and, behind a load balancer, the target group's health check. If those are missing "
        "or probe another path or port, tasks are replaced or get no traffic although the "
        "image's own check passes."
    )
    bad = '"healthCheck": { "command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"] }'
    good = (
        '"healthCheck": { "command": ["CMD-SHELL", "node -e \\"...port: process.env.PORT, '
        'path: \'/health\'...\\""], "interval": 30, "timeout": 5, "retries": 3, '
        '"startPeriod": 20 }'
    )
    fix = Fix(
        False, "manual", "put `dockerforge ecs` output in the task definition and target group"
    )

    def check(self, target: ServiceTarget) -> Iterator[Finding]:
        if target.dockerfile is None:
            return
        service = target.service
        command = target.dockerfile.last_in_image(target.runtime, "CMD")
        anchor = command or target.runtime
        if not service.is_http:
            yield self.at(
                target,
                anchor,
                "worker: give the task definition no healthCheck and no load balancer "
                "(`dockerforge ecs` writes none); ECS replaces the task when the process exits",
            )
            return
        probe = target.dockerfile.healthcheck(target.runtime)
        yield self.at(
            target,
            probe.instruction if probe is not None and not probe.disabled else anchor,
            f"ECS does not run this HEALTHCHECK: set the task definition healthCheck and the "
            f"target group health check to GET {service.health} on port {service.port} "
            f"(`dockerforge ecs {service.name}` writes both)",
        )


RULES: tuple[Rule, ...] = (
    HttpWithoutHealthcheck(),
    WorkerWithHealthcheck(),
    HealthcheckMismatch(),
    EcsIgnoresHealthcheck(),
)
