"""``--format sarif``: SARIF 2.1.0 for code-scanning upload.

Rules go in ``tool.driver.rules``; each result points at its file (URI relative to the
repository root, base ``%SRCROOT%``) and line. A suppressed finding carries an in-source
suppression with its reason, so code scanning shows it as dismissed rather than hiding it.
"""

from __future__ import annotations

import json
from typing import Any

from dockerforge import __version__
from dockerforge.audit import Report
from dockerforge.rules.base import Rule

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SRCROOT = "%SRCROOT%"


def _rule(rule: Rule) -> dict[str, Any]:
    help_text = (
        f"{rule.why}\n\nBad:\n{rule.bad}\n\nGood:\n{rule.good}\n\nFix: {rule.fix.describe()}"
    )
    return {
        "id": rule.code,
        "name": type(rule).__name__,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": help_text,
            "markdown": (
                f"{rule.why}\n\n**Bad**\n\n```\n{rule.bad}\n```\n\n**Good**\n\n"
                f"```\n{rule.good}\n```\n\n**Fix:** {rule.fix.describe()}"
            ),
        },
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "severity": rule.severity,
            "fixable": rule.fix.automatic,
            "fixSafety": rule.fix.safety,
        },
    }


def as_data(report: Report) -> dict[str, Any]:
    index = {rule.code: position for position, rule in enumerate(report.rules)}
    results = []
    for finding in report.findings:
        location: dict[str, Any] = {
            "physicalLocation": {
                "artifactLocation": {"uri": finding.path, "uriBaseId": SRCROOT},
            }
        }
        if finding.line:
            location["physicalLocation"]["region"] = {"startLine": finding.line}
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [location],
        }
        if finding.service is not None:
            result["properties"] = {"service": finding.service}
        if finding.suppressed is not None:
            result["suppressions"] = [{"kind": "inSource", "justification": finding.suppressed}]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dockerforge",
                        "version": __version__,
                        "rules": [_rule(rule) for rule in report.rules],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render_sarif(report: Report) -> str:
    return json.dumps(as_data(report), indent=2) + "\n"
