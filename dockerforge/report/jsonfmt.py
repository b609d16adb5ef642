"""``--format json``: every rule hit with its file, line and suppression."""

from __future__ import annotations

import json
from typing import Any

from dockerforge import __version__
from dockerforge.audit import Report
from dockerforge.rules import rule
from dockerforge.rules.base import SEVERITIES


def as_data(report: Report) -> dict[str, Any]:
    suppressed = [f for f in report.findings if not f.counts]
    return {
        "tool": "dockerforge",
        "version": __version__,
        "date": report.today.isoformat(),
        "manifest": report.manifest,
        "summary": {
            **{severity: report.count(severity) for severity in SEVERITIES},
            "suppressed": len(suppressed),
        },
        "services": [
            {
                "name": s.name,
                "kind": s.kind,
                "dockerfile": s.dockerfile,
                "status": report.status(s.name) or "ok",
            }
            for s in report.services
        ],
        "findings": [
            {
                "rule": f.code,
                "severity": f.severity,
                "title": rule(f.code).title,
                "service": f.service,
                "file": f.path,
                "line": f.line,
                "message": f.message,
                "suppressed": f.suppressed is not None,
                "reason": f.suppressed,
            }
            for f in report.findings
        ],
    }


def render_json(report: Report) -> str:
    return json.dumps(as_data(report), indent=2) + "\n"
