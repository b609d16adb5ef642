"""The audit engine: run every rule over every service, apply suppressions, count.

Rules only yield findings. This module decides which services are audited, reads each
Dockerfile once, applies ``# dockerforge: ignore=DF1xx reason`` comments, orders the findings
and answers the exit-code question for ``--fail-on``. Output formats live in
:mod:`dockerforge.report`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dockerforge.dockerfile import ParsedDockerfile, parse_dockerfile
from dockerforge.errors import EXIT_FINDINGS, EXIT_OK
from dockerforge.model import Manifest, Service
from dockerforge.rules import RULES
from dockerforge.rules.base import (
    SEVERITIES,
    Finding,
    RepoTarget,
    Rule,
    ServiceTarget,
    severity_rank,
)
from dockerforge.workspace import Workspace, read_workspace

NO_REASON = "no reason given"


@dataclass(frozen=True)
class Report:
    root: Path
    today: date
    services: tuple[Service, ...]
    findings: tuple[Finding, ...]  # services in manifest order, then repository-wide ones
    rules: tuple[Rule, ...]
    manifest: bool  # False when the services were inferred (no dockerforge.yaml)
    workspace: Workspace
    base_images: dict[str, str]  # service -> the runtime image's base (from its Dockerfile)

    def counted(self) -> list[Finding]:
        """Findings that count: not suppressed."""
        return [f for f in self.findings if f.counts]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.counted() if f.severity == severity)

    def for_service(self, name: str | None) -> list[Finding]:
        return [f for f in self.findings if f.service == name]

    def status(self, name: str) -> str | None:
        """The worst severity among the service's counted findings (None: nothing)."""
        found = [f.severity for f in self.for_service(name) if f.counts]
        return min(found, key=severity_rank) if found else None

    def exit_code(self, fail_on: str) -> int:
        threshold = severity_rank(fail_on)
        failing = any(severity_rank(f.severity) <= threshold for f in self.counted())
        return EXIT_FINDINGS if failing else EXIT_OK

    def summary(self) -> str:
        parts = [
            f"{self.count(s)} {s}{'s' if self.count(s) != 1 and s != 'info' else ''}"
            for s in SEVERITIES
        ]
        suppressed = len(self.findings) - len(self.counted())
        count = len(self.services)
        text = ", ".join(parts) + f" in {count} service{'s' if count != 1 else ''}"
        return text + (f" ({suppressed} suppressed)" if suppressed else "")


def audit(
    root: Path,
    services: Iterable[Service],
    *,
    today: date,
    manifest: Manifest | None,
    workspace: Workspace | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> Report:
    """Audit ``services`` of the repository at ``root`` (a manifest's, or inferred ones)."""
    root = root.resolve()
    repo = RepoTarget(
        root=root,
        workspace=workspace if workspace is not None else read_workspace(root),
        manifest=manifest,
        today=today,
    )
    for service in services:
        repo.services.append(ServiceTarget(repo, service, _parse(root, service)))

    findings: list[Finding] = []
    for target in repo.services:
        found = [f for rule in rules for f in rule.check(target)]
        findings += sorted(
            (_suppress(target, f) for f in found),
            key=lambda f: (f.path != target.dockerfile_path, f.path, f.line or 0, f.code),
        )
    repository = [f for rule in rules for f in rule.check_repo(repo)]
    findings += sorted(repository, key=lambda f: (f.path, f.line or 0, f.code))
    return Report(
        root=root,
        today=today,
        services=tuple(t.service for t in repo.services),
        findings=tuple(findings),
        rules=rules,
        manifest=manifest is not None,
        workspace=repo.workspace,
        base_images={
            t.name: t.image_stages[0].base for t in repo.services if t.dockerfile is not None
        },
    )


def _parse(root: Path, service: Service) -> ParsedDockerfile | None:
    path = root / service.dockerfile
    return parse_dockerfile(path) if path.is_file() else None


def _suppress(target: ServiceTarget, finding: Finding) -> Finding:
    """Mark a finding covered by an ignore comment in its Dockerfile (it still shows)."""
    if target.dockerfile is None or finding.path != target.dockerfile_path or not finding.line:
        return finding
    reasons = target.dockerfile.suppressed(finding.line)
    if finding.code not in reasons:
        return finding
    return dataclasses.replace(finding, suppressed=reasons[finding.code] or NO_REASON)
