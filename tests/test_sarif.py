"""`audit --format sarif` is valid SARIF 2.1.0 for code-scanning upload.

Validated offline against the official OASIS schema (tests/data/sarif-schema-2.1.0.json,
see tests/data/README.md for where it comes from).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from tests.conftest import REPO, run_cli

SCHEMA = json.loads((REPO / "tests/data/sarif-schema-2.1.0.json").read_text())


def sarif(repo: Path, *args: str) -> dict:
    result = run_cli("audit", "--repo", repo, "--format", "sarif", "--today", "2026-11-26", *args)
    assert result.code in (0, 1), result.stderr
    return json.loads(result.stdout)


def errors(document: dict) -> list[str]:
    validator = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_schema_is_the_official_one() -> None:
    assert SCHEMA["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    Draft4Validator.check_schema(SCHEMA)


def test_example_sarif_validates(example: Path) -> None:
    document = sarif(example)
    assert errors(document) == []
    assert document["version"] == "2.1.0"


def test_schema_catches_a_broken_document(example: Path) -> None:
    """The validation is not vacuous: a result without a message is rejected."""
    document = sarif(example)
    del document["runs"][0]["results"][0]["message"]
    document["runs"][0]["results"][1]["level"] = "fatal"
    assert len(errors(document)) == 2


def test_rules_and_results(example: Path) -> None:
    run = sarif(example)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f"DF{n}" for n in range(101, 122)]
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    json_report = json.loads(
        run_cli("audit", "--repo", example, "--format", "json", "--today", "2026-11-26").stdout
    )
    assert len(run["results"]) == len(json_report["findings"])
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for result, finding in zip(run["results"], json_report["findings"], strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding["rule"]
        assert result["level"] == levels[finding["severity"]]
        location = result["locations"][0]["physicalLocation"]
        uri = location["artifactLocation"]["uri"]
        assert uri == finding["file"] and not uri.startswith("/") and "\\" not in uri
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert location["region"]["startLine"] == finding["line"]
        assert (example / uri).is_file()


@pytest.mark.parametrize("reason", ["firebase-admin is pinned by hand", ""])
def test_suppressed_finding_is_reported_as_suppressed(example: Path, reason: str) -> None:
    dockerfile = example / "services/notification-service/Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(
        text.replace(
            "RUN pnpm install\n", f"# dockerforge: ignore=DF103 {reason}\nRUN pnpm install\n"
        )
    )
    document = sarif(example, "notification-service")
    assert errors(document) == []
    (suppressed,) = [r for r in document["runs"][0]["results"] if "suppressions" in r]
    assert suppressed["ruleId"] == "DF103"
    assert suppressed["locations"][0]["physicalLocation"]["region"]["startLine"] == 20
    assert suppressed["suppressions"] == [
        {"kind": "inSource", "justification": reason or "no reason given"}
    ]
