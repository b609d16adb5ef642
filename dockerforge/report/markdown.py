"""``--format markdown``: the readiness audit document, in the shape a person wrote it.

Sections: what is production-safe, what will likely break only in ECS (warnings, and the
info findings that are ECS to-dos), what must be fixed before deploying (errors), a summary
table and a checklist. A rule that hits every audited service the same way (the Node.js
version, the ECS health-check reminder) is a property of the repository, so it is listed once
and does not make every service look unsafe.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from dockerforge import __version__
from dockerforge.audit import Report
from dockerforge.rules import rule
from dockerforge.rules.base import ERROR, INFO, WARNING, Finding, severity_rank
from dockerforge.rules.node import engines_node

STATUS = {ERROR: "❌", WARNING: "⚠️", INFO: "✅", None: "✅"}


def render_markdown(report: Report) -> str:
    counted = report.counted()
    everywhere = _everywhere(report)
    own = [f for f in counted if f.code not in everywhere]
    out: list[str] = ["# AWS ECS Fargate readiness audit", ""]
    out += _header(report)
    out += ["", "---", "", "## ✅ What is production-safe", ""]
    out += _safe(report, own, everywhere)
    out += ["", "---", "", "## ⚠️ What will likely break only in ECS", ""]
    out += _groups(report, [f for f in counted if f.severity != ERROR], everywhere, False)
    out += ["---", "", "## ❌ What must be fixed before deploying", ""]
    out += _groups(report, [f for f in counted if f.severity == ERROR], everywhere, True)
    out += ["---", "", "## Summary table", ""]
    out += _table(report, everywhere)
    out += ["", "---", "", "## Checklist before first ECS deploy", ""]
    out += _checklist(counted)
    suppressed = [f for f in report.findings if not f.counts]
    if suppressed:
        out += ["", "---", "", "## Suppressed in the Dockerfiles", ""]
        out += [f"- `{f.where}` {f.code} ({f.service}): {f.suppressed}" for f in suppressed]
    return "\n".join(out).rstrip("\n") + "\n"


def _header(report: Report) -> list[str]:
    http = sum(1 for s in report.services if s.is_http)
    workers = len(report.services) - http
    engines = engines_node(report.workspace.root_data)
    images = sorted(set(report.base_images.values()))
    node = (
        f"root `package.json` says `engines.node: {json.dumps(engines)}`"
        if engines
        else "the root `package.json` declares no `engines.node`"
    )
    uses = ", ".join(f"`{i}`" for i in images) if images else "no Dockerfile yet"
    source = "dockerforge.yaml" if report.manifest else "inferred from the repository"
    return [
        f"**Scope:** {len(report.services)} services ({http} HTTP, {workers} workers; "
        f"{source}): Dockerfiles, pnpm workspace handling, ECS runtime settings.  ",
        f"**Node:** {node}; the Dockerfiles use {uses}.  ",
        f"**Date:** {report.today.isoformat()} (`dockerforge audit`, version {__version__})  ",
        f"**Result:** {report.summary()}.",
    ]


def _everywhere(report: Report) -> set[str]:
    """Codes whose counted findings hit every audited service (two services or more)."""
    if len(report.services) < 2:
        return set()
    names = {s.name for s in report.services}
    hits: dict[str, set[str]] = {}
    for finding in report.counted():
        if finding.service is not None:
            hits.setdefault(finding.code, set()).add(finding.service)
    return {code for code, services in hits.items() if services == names}


def _safe(report: Report, own: list[Finding], everywhere: set[str]) -> list[str]:
    flagged = {f.service for f in own if f.severity != INFO}
    safe = [s for s in report.services if s.name not in flagged]
    if not safe:
        return ["- No service is free of errors and warnings of its own yet."]
    names = {s.name for s in safe}
    hit = {f.code for f in report.counted() if f.service in names}
    passed = [r for r in report.rules if r.severity != INFO and r.code not in hit]
    lines = [
        f"- **{_names(s.name for s in safe)}** ({len(safe)} of {len(report.services)} "
        "services): no error or warning of their own.",
        "- Checks they pass:",
    ]
    lines += [f"  - {r.code} {r.title}: not found." for r in passed]
    shared = sorted(c for c in everywhere if rule(c).severity != INFO)
    if shared:
        listed = ", ".join(f"{c} ({rule(c).title})" for c in shared)
        lines.append(f"- Shared by every service, so listed below once per service: {listed}.")
    return lines


def _groups(
    report: Report, findings: list[Finding], everywhere: set[str], numbered: bool
) -> list[str]:
    if not findings:
        return ["Nothing.", ""]
    codes = sorted({f.code for f in findings}, key=lambda c: (severity_rank(rule(c).severity), c))
    lines: list[str] = []
    for number, code in enumerate(codes, start=1):
        current = rule(code)
        hits = [f for f in findings if f.code == code]
        services = sorted({f.service for f in hits if f.service}, key=_order(report))
        heading = f"{number}. " if numbered else ""
        who = f": {_names(services)}" if services else ""
        if code in everywhere:
            who = f": all {len(report.services)} services"
        lines += [f"### {heading}{current.title} ({code}, {current.severity}){who}", ""]
        lines.append("- **Where:**")
        lines += [
            f"  - `{f.where}`{f' ({f.service})' if f.service else ''}: {f.message}" for f in hits
        ]
        lines.append(f"- **Why it matters:** {current.why}")
        lines.append(f"- **Fix:** {current.fix.describe()}")
        lines.append("")
    return lines


def _table(report: Report, everywhere: set[str]) -> list[str]:
    lines = ["| Service | Kind | Status | Findings |", "|---|---|---|---|"]
    for service in report.services:
        hits = [f for f in report.for_service(service.name) if f.counts]
        worst = report.status(service.name)
        codes = sorted({f.code for f in hits if f.severity != INFO})
        infos = sum(1 for f in hits if f.severity == INFO)
        text = ", ".join(codes) if codes else "none"
        if infos:
            text += f" (+{infos} info)"
        kind = f"http :{service.port}" if service.is_http else "worker"
        lines.append(f"| {service.name} | {kind} | {STATUS[worst]} | {text} |")
    repository = [f for f in report.for_service(None) if f.counts]
    if repository:
        codes = ", ".join(sorted({f.code for f in repository}))
        worst = min((f.severity for f in repository), key=severity_rank)
        lines.append(f"| (repository) | | {STATUS[worst]} | {codes} |")
    if everywhere:
        lines += ["", f"Shared by every service: {', '.join(sorted(everywhere))}."]
    return lines


def _checklist(findings: list[Finding]) -> list[str]:
    codes = sorted({f.code for f in findings}, key=lambda c: (severity_rank(rule(c).severity), c))
    lines = []
    for number, code in enumerate(codes, start=1):
        current = rule(code)
        services = {f.service for f in findings if f.code == code and f.service}
        scope = (
            f" in {len(services)} service{'s' if len(services) != 1 else ''}" if services else ""
        )
        optional = {ERROR: "", WARNING: "(Recommended) ", INFO: "(Info) "}[current.severity]
        lines.append(
            f"{number}. {optional}**{current.title}** ({code}{scope}): {current.fix.describe()}."
        )
    lines.append(
        f"{len(codes) + 1}. Run `dockerforge audit` again: it exits 0 once no error is left."
    )
    return lines


def _names(names: Iterable[str | None]) -> str:
    return ", ".join(n for n in names if n)


def _order(report: Report) -> Callable[[str | None], int]:
    position = {s.name: i for i, s in enumerate(report.services)}
    return lambda name: position.get(name or "", len(position))
