"""The audit engine and command on the example: findings, formats, suppression, exit codes.

The expected table below is the audit document (its services, its reasons) translated into
rule codes and the lines those reasons sit on (read off the files by hand with `cat -n`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from dockerforge.audit import audit
from dockerforge.manifest import load_manifest
from dockerforge.rules import markdown_table
from tests.conftest import AUDITED_DRIFT, GOLDEN, MULTILIB, REPO, copy_tree, run_cli, snapshot

TODAY = "2026-11-26"
HTTP = [
    "api-gateway",
    "student-service",
    "trainer-service",
    "student-auth-service",
    "trainer-auth-service",
    "notification-service",
    "payment-service",
    "chat-service",
    "analytics-service",
    "admin-service",
    "booking-service",
    "course-service",
]
NPM_WORKERS = ["session-worker", "notification-worker", "purchase-worker", "cache-worker"]
MANIFEST_LINES = {
    "api-gateway": 9,
    "student-service": 12,
    "trainer-service": 14,
    "student-auth-service": 16,
    "trainer-auth-service": 19,
    "notification-service": 22,
    "payment-service": 24,
    "chat-service": 27,
    "analytics-service": 29,
    "admin-service": 31,
    "booking-service": 34,
    "course-service": 36,
    "allocation-worker": 40,
    "session-worker": 43,
    "notification-worker": 45,
    "purchase-worker": 47,
    "cache-worker": 49,
}


def expected_example() -> set[tuple[str | None, str, str, int]]:
    """(service, code, file, line) for every finding on the audited example."""
    found: set[tuple[str | None, str, str, int]] = set()
    for name, line in MANIFEST_LINES.items():
        found.add((name, "DF119", "dockerforge.yaml", line))
    for name in HTTP:
        dockerfile = f"services/{name}/Dockerfile"
        offset = 1 if name == "notification-service" else 0  # its extra comment line
        found.add((name, "DF110", dockerfile, 36 + offset))  # Node 18 past end of life
        found.add((name, "DF114", dockerfile, 50 + offset))  # ECS ignores HEALTHCHECK
    # ⚠️ notification-service: lockfile not frozen.
    found.add(("notification-service", "DF103", "services/notification-service/Dockerfile", 19))
    # ❌ the four npm workers: npm, package*.json without a lockfile, drift, workspace:*,
    # single stage, root.
    for name in NPM_WORKERS:
        dockerfile = f"services/{name}/Dockerfile"
        for code, line in [
            ("DF101", 11),
            ("DF102", 7),
            ("DF104", 11),
            ("DF105", 11),
            ("DF107", 2),
            ("DF110", 2),
            ("DF114", 21),
            ("DF117", 11),
        ]:
            found.add((name, code, dockerfile, line))
    # allocation-worker: the audit called it OK; it is single-stage, ships the toolchain and
    # runs as root (see README). Its admin-service import is satisfied (no DF118).
    allocation = "services/allocation-worker/Dockerfile"
    for code, line in [("DF105", 17), ("DF106", 5), ("DF107", 2), ("DF110", 2), ("DF114", 31)]:
        found.add(("allocation-worker", code, allocation, line))
    found.add((None, "DF109", "package.json", 9))  # no engines in shared or services
    found.add((None, "DF119", "shared/src/index.ts", 23))  # validateRequiredEnvVars()
    return found


def audit_json(repo: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("audit", "--repo", repo, "--format", "json", "--today", TODAY, *args)
    assert result.code in (0, 1), result.stderr
    return result.code, json.loads(result.stdout)


def as_set(data: dict) -> set[tuple[str | None, str, str, int]]:
    return {(f["service"], f["rule"], f["file"], f["line"]) for f in data["findings"]}


def test_example_findings_match_the_audit_document(example: Path) -> None:
    code, data = audit_json(example)
    assert code == 1
    assert as_set(data) == expected_example()
    assert len(data["findings"]) == len(expected_example())  # no duplicates
    errors = {f["service"] for f in data["findings"] if f["severity"] == "error"}
    assert errors == {"allocation-worker", *NPM_WORKERS}
    own_warnings = {
        f["service"]
        for f in data["findings"]
        if f["severity"] == "warning" and f["rule"] != "DF110"
    }
    assert own_warnings == {"notification-service"}
    for finding in data["findings"]:
        assert set(finding) >= {
            "rule",
            "severity",
            "file",
            "line",
            "message",
            "suppressed",
            "reason",
        }
        assert finding["suppressed"] is False and finding["reason"] is None


def test_markdown_has_the_documents_shape_and_findings(example: Path) -> None:
    result = run_cli("audit", "--repo", example, "--format", "markdown", "--today", TODAY)
    assert result.code == 1, result.stderr
    text = result.stdout
    headings = re.findall(r"^## (.*)$", text, re.MULTILINE)
    assert headings == [
        "✅ What is production-safe",
        "⚠️ What will likely break only in ECS",
        "❌ What must be fixed before deploying",
        "Summary table",
        "Checklist before first ECS deploy",
    ]
    sections = dict(zip(headings, re.split(r"^## .*$", text, flags=re.MULTILINE)[1:], strict=True))

    def located(section: str) -> set[tuple[str, str, int]]:
        found = set()
        for block in re.split(r"^### ", sections[section], flags=re.MULTILINE)[1:]:
            code = re.search(r"\((DF1\d\d), ", block.splitlines()[0]).group(1)
            for path, line in re.findall(r"^  - `([^`:]+):(\d+)`", block, re.MULTILINE):
                found.add((code, path, int(line)))
        return found

    expected = expected_example()
    must_fix = {
        (c, p, n)
        for s, c, p, n in expected
        if c in {"DF101", "DF102", "DF104", "DF105", "DF106", "DF107", "DF117"}
    }
    assert located("❌ What must be fixed before deploying") == must_fix
    assert (
        located("⚠️ What will likely break only in ECS")
        == {(c, p, n) for _, c, p, n in expected} - must_fix
    )
    safe = sections["✅ What is production-safe"]
    listed = re.search(r"\*\*(.*?)\*\* \(11 of 17 services\)", safe).group(1).split(", ")
    assert listed == [n for n in HTTP if n != "notification-service"]
    table = dict(
        re.findall(r"^\| ([a-z-]+) \| [^|]+ \| (\S+) \|", sections["Summary table"], re.MULTILINE)
    )
    assert {n for n, status in table.items() if status == "❌"} == {
        "allocation-worker",
        *NPM_WORKERS,
    }
    checklist = re.findall(r"\((DF1\d\d)", sections["Checklist before first ECS deploy"])
    assert checklist[:7] == ["DF101", "DF102", "DF104", "DF105", "DF106", "DF107", "DF117"]


def test_text_format_is_grouped_by_service(example: Path) -> None:
    result = run_cli("audit", "--repo", example, "--today", TODAY)
    assert result.code == 1
    groups = re.findall(r"^(\S[^\n]*?)(?: \(.*\))?$", result.stdout, re.MULTILINE)
    assert groups[:-1] == [*MANIFEST_LINES, "repository"]
    assert (
        result.stdout.strip().splitlines()[-1] == "27 errors, 18 warnings, 36 info in 17 services"
    )
    assert "  services/session-worker/Dockerfile:11: error DF101 " in result.stdout


def test_after_rendering_every_dockerfile_no_error_remains(example: Path) -> None:
    assert run_cli("render", "--repo", example).code == 0
    code, data = audit_json(example)
    assert code == 0  # --fail-on error (the default)
    severities = {(f["rule"], f["severity"]) for f in data["findings"]}
    assert {s for _, s in severities} == {"warning", "info"}
    # The only warning left is the Node.js 18 end of life, a choice in dockerforge.yaml.
    assert {r for r, s in severities if s == "warning"} == {"DF110"}
    for finding in (f for f in data["findings"] if f["rule"] == "DF110"):
        lines = (example / finding["file"]).read_text().splitlines()
        assert lines[finding["line"] - 1] == "FROM node:18-alpine AS runtime"
    code, _ = audit_json(example, "--fail-on", "warning")
    assert code == 1
    code, data = audit_json(example, "--today", "2025-01-31", "--fail-on", "warning")
    assert code == 0, [f for f in data["findings"] if f["severity"] != "info"]


def test_after_fix_write_no_error_remains(example: Path) -> None:
    fixed = run_cli("fix", "--write", "--repo", example)
    assert fixed.code in (0, 1), fixed.stderr
    assert run_cli("check", "--repo", example).code == 0
    code, data = audit_json(example)
    assert code == 0
    assert not [f for f in data["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("family", ["alpine", "debian"])
def test_golden_renderings_have_no_error_and_no_warning(example: Path, family: str) -> None:
    manifest_file = example / "dockerforge.yaml"
    if family == "debian":
        manifest_file.write_text(
            manifest_file.read_text().replace("node: node:18-alpine", "node: node:18-bookworm-slim")
        )
    names = []
    for golden in sorted((GOLDEN / "kodingcaravan" / family).glob("*.Dockerfile")):
        name = golden.name.removesuffix(".Dockerfile")
        shutil.copyfile(golden, example / "services" / name / "Dockerfile")
        names.append(name)
    manifest = load_manifest(example)
    services = [manifest.service(n) for n in names]
    on_audit_date = audit(example, services, today=date(2025, 1, 31), manifest=manifest)
    assert [f for f in on_audit_date.findings if f.severity != "info"] == []
    today = audit(example, services, today=date(2026, 11, 26), manifest=manifest)
    assert {f.code for f in today.findings if f.severity != "info"} == {"DF110"}


def test_multilib_renderings_have_no_error_and_no_warning(tmp_path: Path) -> None:
    repo = copy_tree(MULTILIB, tmp_path / "multilib")
    # The fixture carries no lockfile (its renderings are never built); a real repository does,
    # and without one the images' COPY of pnpm-lock.yaml is rightly flagged (DF104).
    (repo / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    for golden in ("api", "jobs"):
        shutil.copyfile(
            GOLDEN / "multilib" / f"{golden}.Dockerfile", repo / "apps" / golden / "Dockerfile"
        )
    manifest = load_manifest(repo)
    report = audit(repo, manifest.services, today=date(2025, 1, 31), manifest=manifest)
    assert [f for f in report.findings if f.severity != "info"] == []
    codes = {(f.service, f.code) for f in report.findings}
    assert ("api", "DF114") in codes and ("jobs", "DF114") in codes
    api_env = next(f for f in report.findings if f.service == "api" and f.code == "DF119")
    assert "PORT=8080" in api_env.message and "DATABASE_URL" in api_env.message


def test_suppression_shows_in_json_and_does_not_count(example: Path) -> None:
    dockerfile = example / "services/notification-service/Dockerfile"
    text = dockerfile.read_text()
    note = (
        "# firebase-admin may need a lockfile update during the build, so it is not frozen here\n"
    )
    dockerfile.write_text(
        text.replace(
            note, note + "# dockerforge: ignore=DF103 firebase-admin lockfile is updated in CI\n"
        )
    )
    _, data = audit_json(example, "notification-service")
    (suppressed,) = [f for f in data["findings"] if f["suppressed"]]
    assert suppressed["rule"] == "DF103" and suppressed["line"] == 20
    assert suppressed["reason"] == "firebase-admin lockfile is updated in CI"
    assert data["summary"]["suppressed"] == 1
    assert data["summary"]["warning"] == 1  # only DF110 still counts
    today = "2025-01-31"  # before Node 18's end of life: nothing else is a warning
    result = run_cli(
        "audit", "notification-service", "--repo", example, "--today", today, "--fail-on", "warning"
    )
    assert result.code == 0, result.stdout
    assert "[suppressed: firebase-admin lockfile is updated in CI]" in result.stdout
    # Without a reason the suppression still holds, and says so.
    dockerfile.write_text(text.replace(note, note + "# dockerforge: ignore=DF103\n"))
    _, data = audit_json(example, "notification-service")
    assert [f["reason"] for f in data["findings"] if f["suppressed"]] == ["no reason given"]


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 0), ("warning", 1), ("info", 1)])
def test_fail_on_thresholds(example: Path, fail_on: str, expected: int) -> None:
    assert run_cli("render", "--repo", example).code == 0
    result = run_cli("audit", "--repo", example, "--today", TODAY, "--fail-on", fail_on)
    assert result.code == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "yaml"],
        ["--fail-on", "fatal"],
        ["--today", "26/11/2026"],
        ["no-such-service"],
    ],
)
def test_usage_errors_exit_2_and_write_nothing(example: Path, args: list[str]) -> None:
    before = snapshot(example)
    result = run_cli("audit", "--repo", example, *args)
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(example) == before


def test_broken_dockerfile_is_a_usage_error_with_its_location(example: Path) -> None:
    (example / "services/api-gateway/Dockerfile").write_text("RUN echo no FROM here\n")
    result = run_cli("audit", "--repo", example)
    assert result.code == 2
    assert "services/api-gateway/Dockerfile:1:" in result.stderr


def test_audit_writes_nothing(example: Path) -> None:
    before = snapshot(example)
    for fmt in ("text", "markdown", "json", "sarif"):
        run_cli("audit", "--repo", example, "--format", fmt)
    assert snapshot(example) == before


def test_without_a_manifest_the_services_are_inferred(example: Path) -> None:
    _, declared = audit_json(example)
    (example / "dockerforge.yaml").unlink()
    result = run_cli("audit", "--format", "json", "--today", TODAY, cwd=example)
    assert result.code == 1, result.stderr
    inferred = json.loads(result.stdout)
    assert inferred["manifest"] is False
    assert sorted(s["name"] for s in inferred["services"]) == sorted(
        s["name"] for s in declared["services"]
    )

    def dockerfile_findings(data: dict) -> set[tuple[str, str, int]]:
        return {
            (f["rule"], f["file"], f["line"])
            for f in data["findings"]
            if f["file"].endswith("Dockerfile") and f["rule"] != "DF119"
        }

    assert dockerfile_findings(inferred) == dockerfile_findings(declared)
    # From a service's folder the monorepo root is found above it, and --repo works too.
    below = run_cli(
        "audit", "--format", "json", "--today", TODAY, cwd=example / "services/api-gateway"
    )
    assert json.loads(below.stdout)["findings"] == inferred["findings"]
    explicit = run_cli("audit", "--repo", example, "--format", "json", "--today", TODAY)
    assert json.loads(explicit.stdout)["findings"] == inferred["findings"]
    # Without the manifest the task environment points at the Dockerfile and has no secrets.
    env = [
        f for f in inferred["findings"] if f["rule"] == "DF119" and f["service"] == "api-gateway"
    ]
    assert [(f["file"], f["line"]) for f in env] == [("services/api-gateway/Dockerfile", 1)]


def test_rules_command_lists_and_explains(tmp_path: Path) -> None:
    listing = run_cli("rules", cwd=tmp_path)
    assert listing.code == 0
    assert re.findall(r"^(DF1\d\d) ", listing.stdout, re.MULTILINE) == [
        f"DF{n}" for n in range(101, 122)
    ]
    explained = run_cli("rules", "df103", cwd=tmp_path)
    assert explained.code == 0
    for part in (
        "DF103: Lockfile copied",
        "severity: warning",
        "fixed by `dockerforge fix`: yes",
        "Why it matters:",
        "Bad:",
        "Good:",
        "--frozen-lockfile",
    ):
        assert part in explained.stdout
    unknown = run_cli("rules", "DF013", cwd=tmp_path)
    assert unknown.code == 2 and "unknown rule 'DF013'" in unknown.stderr
    table = run_cli("rules", "--format", "markdown", cwd=tmp_path)
    assert table.code == 0 and table.stdout == markdown_table()


def test_audited_drift_set_is_the_one_the_audit_flags() -> None:
    """The example's non-canonical files are exactly the services with their own findings."""
    flagged = {
        s for s, code, _, _ in expected_example() if s and code not in {"DF110", "DF114", "DF119"}
    }
    assert flagged == AUDITED_DRIFT


def test_wheel_ships_the_end_of_life_table(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path, REPO],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("dockerforge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = json.loads(archive.read("dockerforge/data/node_eol.json"))
    assert shipped["18"] == "2025-04-30" and shipped["20"] == "2026-04-30"
