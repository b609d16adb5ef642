"""``--format text``: findings grouped by service, one line each."""

from __future__ import annotations

from dockerforge.audit import Report
from dockerforge.rules.base import Finding


def render_text(report: Report) -> str:
    lines: list[str] = []
    for service in report.services:
        kind = f"http :{service.port}" if service.is_http else "worker"
        lines.append(f"{service.name} ({kind})")
        lines += [_line(f) for f in report.for_service(service.name)] or ["  no findings"]
        lines.append("")
    repository = report.for_service(None)
    if repository:
        lines.append("repository")
        lines += [_line(f) for f in repository]
        lines.append("")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def _line(finding: Finding) -> str:
    text = f"  {finding.where}: {finding.severity} {finding.code} {finding.message}"
    if finding.suppressed is not None:
        text += f" [suppressed: {finding.suppressed}]"
    return text
