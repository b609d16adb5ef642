"""`render` and `check` as a user runs them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.conftest import AUDITED_DRIFT, run_cli, snapshot


def test_check_on_the_example_names_the_audited_files(example: Path) -> None:
    result = run_cli("check", "--repo", example)
    assert result.code == 1
    summary = result.stdout.strip().splitlines()[-1]
    match = re.match(r"(\d+) of (\d+) files drift from the templates: ([^(]+) \(", summary)
    assert match, summary
    assert (match.group(1), match.group(2)) == ("6", "18")
    assert set(match.group(3).strip().split(", ")) == AUDITED_DRIFT
    diffed = set(re.findall(r"^\+\+\+ b/services/([^/]+)/Dockerfile$", result.stdout, re.M))
    assert diffed == AUDITED_DRIFT
    # the notification-service diff is exactly the unfrozen install
    assert "-RUN pnpm install\n+RUN pnpm install --frozen-lockfile\n" in result.stdout


def test_check_of_good_services_passes(example: Path) -> None:
    result = run_cli("check", "api-gateway", "admin-service", "--repo", example)
    assert result.code == 0
    assert result.stdout == "2 files match their templates\n"


def test_render_then_check_is_clean_and_render_is_idempotent(example: Path) -> None:
    first = run_cli("render", "--repo", example)
    assert first.code == 0
    assert first.stdout.splitlines()[-1] == "6 written, 12 unchanged"
    assert run_cli("check", "--repo", example).code == 0
    before = {p: p.stat().st_mtime_ns for p in example.rglob("Dockerfile")}
    second = run_cli("render", "--repo", example)
    assert second.stdout.splitlines()[-1] == "0 written, 18 unchanged"
    assert {p: p.stat().st_mtime_ns for p in example.rglob("Dockerfile")} == before


def test_missing_dockerfile_is_drift(example: Path) -> None:
    (example / "services" / "chat-service" / "Dockerfile").unlink()
    result = run_cli("check", "chat-service", "--repo", example)
    assert result.code == 1
    assert "--- /dev/null\n+++ b/services/chat-service/Dockerfile\n" in result.stdout


def test_crlf_checkout_is_not_drift_and_render_keeps_crlf(example: Path) -> None:
    path = example / "services" / "chat-service" / "Dockerfile"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert run_cli("check", "chat-service", "--repo", example).code == 0
    session = example / "services" / "session-worker" / "Dockerfile"
    session.write_bytes(session.read_bytes().replace(b"\n", b"\r\n"))
    assert run_cli("render", "session-worker", "--repo", example).code == 0
    data = session.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 10


def test_render_keeps_file_mode(example: Path) -> None:
    path = example / "services" / "session-worker" / "Dockerfile"
    path.chmod(0o600)
    assert run_cli("render", "session-worker", "--repo", example).code == 0
    assert path.stat().st_mode & 0o777 == 0o600


def test_render_refuses_a_symlink_leaving_the_repository(example: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    path = example / "services" / "session-worker" / "Dockerfile"
    path.unlink()
    path.symlink_to(outside)
    before = snapshot(example)
    result = run_cli("render", "--repo", example)
    assert result.code == 2
    assert "resolves outside the repository" in result.stderr
    assert outside.read_text() == "precious\n"
    assert snapshot(example) == before


def test_stdout_prints_one_rendering(example: Path) -> None:
    result = run_cli("render", "--stdout", "api-gateway", "--repo", example)
    assert result.code == 0
    assert result.stdout == (example / "services" / "api-gateway" / "Dockerfile").read_text()
    both = run_cli("render", "--stdout", "api-gateway", "chat-service", "--repo", example)
    assert both.code == 2
    assert "name exactly one service" in both.stderr


def test_unknown_service_is_a_usage_error(example: Path) -> None:
    result = run_cli("check", "billing-service", "--repo", example)
    assert result.code == 2
    assert result.stderr.startswith("dockerforge: unknown service 'billing-service'")


def test_repo_is_found_from_a_subfolder(example: Path) -> None:
    result = run_cli("check", "api-gateway", cwd=example / "services" / "api-gateway" / "src")
    assert result.code == 0


def test_no_colour_when_piped_or_no_color(example: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    result = run_cli("check", "session-worker", "--repo", example, env=env)
    assert "\x1b[" not in result.stdout
