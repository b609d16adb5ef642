"""dockerforge fix: dry run, --write, --interactive, needs review, and safe writes."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from dockerforge.commands import fix
from dockerforge.manifest import load_manifest
from tests.conftest import AUDITED_DRIFT, run_cli, snapshot

HEADER = re.compile(r"^(services/[a-z-]+/Dockerfile): (.+)$", re.MULTILINE)
EXPECTED_KINDS = {
    "services/notification-service/Dockerfile": "lockfile not frozen",
    "services/allocation-worker/Dockerfile": "single-stage pnpm",
    "services/session-worker/Dockerfile": "npm-based in a pnpm monorepo",
    "services/notification-worker/Dockerfile": "npm-based in a pnpm monorepo",
    "services/purchase-worker/Dockerfile": "npm-based in a pnpm monorepo",
    "services/cache-worker/Dockerfile": "npm-based in a pnpm monorepo",
}
SESSION = "services/session-worker/Dockerfile"


def dockerfile(root: Path, name: str) -> Path:
    return root / "services" / name / "Dockerfile"


def test_dry_run_proposes_the_six_audited_files_and_writes_nothing(example: Path) -> None:
    before = snapshot(example)
    result = run_cli("fix", "--repo", example)
    assert result.code == 1
    assert dict(HEADER.findall(result.stdout)) == EXPECTED_KINDS
    assert {p.split("/")[1] for p in EXPECTED_KINDS} == AUDITED_DRIFT
    for path in EXPECTED_KINDS:
        assert f"--- a/{path}\n+++ b/{path}\n" in result.stdout
    assert "  runs as root -> USER nodejs (uid 1001)\n" in result.stdout
    assert "\x1b[" not in result.stdout  # piped: no colour
    assert result.stderr == "6 files would change (`dockerforge fix --write` applies them)\n"
    assert snapshot(example) == before


def test_write_then_check_is_clean_and_a_second_fix_is_silent(example: Path) -> None:
    result = run_cli("fix", "--write", "--repo", example)
    assert result.code == 0, result.stderr
    assert dict(HEADER.findall(result.stdout)) == EXPECTED_KINDS
    assert "--- a/" not in result.stdout  # --write reports, the dry run shows diffs
    assert result.stderr == "6 files fixed\n"
    assert run_cli("check", "--repo", example).code == 0

    mtimes = {p: p.stat().st_mtime_ns for p in example.rglob("Dockerfile")}
    before = snapshot(example)
    for args in (("fix",), ("fix", "--write")):
        again = run_cli(*args, "--repo", example)
        assert (again.code, again.stdout, again.stderr) == (0, "", "")
    assert snapshot(example) == before
    assert {p: p.stat().st_mtime_ns for p in example.rglob("Dockerfile")} == mtimes


def test_named_services_only(example: Path) -> None:
    result = run_cli("fix", "session-worker", "api-gateway", "--repo", example)
    assert result.code == 1
    assert HEADER.findall(result.stdout) == [(SESSION, "npm-based in a pnpm monorepo")]
    assert ".dockerignore" not in result.stdout


def test_missing_dockerfile_is_created(example: Path) -> None:
    dockerfile(example, "api-gateway").unlink()
    result = run_cli("fix", "api-gateway", "--write", "--repo", example)
    assert result.code == 0
    assert result.stdout.startswith(
        "services/api-gateway/Dockerfile: missing\n  no Dockerfile -> rendered from the manifest\n"
    )
    assert run_cli("check", "api-gateway", "--repo", example).code == 0


def test_colour_only_when_asked(example: Path) -> None:
    manifest = load_manifest(example)
    (plan,) = fix.plan_fixes(manifest, ["session-worker"])
    coloured = fix.explain(plan, force=False, colour=True)
    assert "\x1b[31m-RUN npm install --legacy-peer-deps\x1b[0m\n" in coloured
    assert "\x1b[" not in fix.explain(plan, force=False, colour=False)


def test_crlf_and_mode_are_kept(example: Path) -> None:
    path = dockerfile(example, "session-worker")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    path.chmod(0o600)
    assert run_cli("fix", "session-worker", "--write", "--repo", example).code == 0
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 40
    assert b"pnpm install --frozen-lockfile" in data
    assert path.stat().st_mode & 0o777 == 0o600
    assert run_cli("check", "session-worker", "--repo", example).code == 0


def test_symlink_out_of_the_repository_is_refused_and_nothing_is_written(
    example: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.Dockerfile"
    outside.write_text("FROM node:18-alpine\n")
    path = dockerfile(example, "cache-worker")
    path.unlink()
    path.symlink_to(outside)
    before = snapshot(example)
    result = run_cli("fix", "--write", "--repo", example)
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "dockerforge: refusing to touch services/cache-worker/Dockerfile: "
        "it resolves outside the repository\n"
    )
    assert outside.read_text() == "FROM node:18-alpine\n"
    assert snapshot(example) == before  # not even the other five files


def test_usage_errors(example: Path) -> None:
    both = run_cli("fix", "--write", "--interactive", "--repo", example)
    assert (both.code, both.stderr) == (
        2,
        "dockerforge: --write and --interactive exclude each other\n",
    )
    unknown = run_cli("fix", "no-such-service", "--repo", example)
    assert unknown.code == 2
    assert unknown.stderr.startswith("dockerforge: unknown service 'no-such-service'")
    piped = run_cli("fix", "--interactive", "--repo", example)
    assert piped.code == 2
    assert "--interactive needs a terminal" in piped.stderr


def test_bad_dockerfile_is_reported_with_its_line(example: Path) -> None:
    dockerfile(example, "cache-worker").write_text("# nothing\nRUN true\n")
    before = snapshot(example)
    result = run_cli("fix", "--write", "--repo", example)
    assert result.code == 2
    assert result.stderr == (
        f"{dockerfile(example, 'cache-worker')}:2: RUN before the first FROM (not a Dockerfile?)\n"
    )
    assert snapshot(example) == before


# -- needs review and --force ------------------------------------------------------------
def add_timezone(root: Path) -> Path:
    path = dockerfile(root, "session-worker")
    text = path.read_text()
    path.write_text(text.replace("WORKDIR /app\n", "WORKDIR /app\nENV TZ=UTC\n", 1))
    return path


def test_needs_review_leaves_the_file_untouched(example: Path) -> None:
    path = add_timezone(example)
    kept = path.read_bytes()
    result = run_cli("fix", "--write", "--repo", example)
    assert result.code == 1
    assert (
        "  needs review: line 5: ENV TZ=UTC (environment variable TZ: no manifest field for "
        "it; keep it with a template override (manifest `templates:`) or drop it with --force)\n"
        "  left untouched: review the lines above, then rerun with --force\n"
    ) in result.stdout
    assert result.stderr == (
        "5 files fixed; 1 file needs review and stays untouched without --force\n"
    )
    assert path.read_bytes() == kept
    assert run_cli("check", "--repo", example).code == 1

    forced = run_cli("fix", "--write", "--force", "--repo", example)
    assert forced.code == 0
    assert "  replaced anyway (--force)\n" in forced.stdout
    assert forced.stderr == "1 file fixed\n"
    assert run_cli("check", "--repo", example).code == 0


def test_dry_run_with_a_file_that_needs_review(example: Path) -> None:
    add_timezone(example)
    result = run_cli("fix", "--repo", example)
    assert result.code == 1
    assert result.stderr == (
        "5 files would change (`dockerforge fix --write` applies them); "
        "1 file needs review and stays untouched without --force\n"
    )
    assert f"--- a/{SESSION}" in result.stdout  # the diff still shows what --force would do


def test_template_override_carries_the_extra_line_over(example: Path) -> None:
    add_timezone(example)
    (example / "overrides").mkdir()
    (example / "overrides" / "Dockerfile.j2").write_text(
        '{% extends "dockerforge/Dockerfile.j2" %}\n'
        "{% block service_runtime %}\n"
        '{% if service.name == "session-worker" %}\nENV TZ=UTC\n{% endif %}\n'
        "{{ super() }}{% endblock %}\n"
    )
    manifest_file = example / "dockerforge.yaml"
    manifest_file.write_text("templates: overrides\n" + manifest_file.read_text())
    result = run_cli("fix", "--write", "--repo", example)
    assert result.code == 0, result.stdout
    assert "needs review" not in result.stdout
    assert "ENV TZ=UTC\n" in dockerfile(example, "session-worker").read_text()
    assert run_cli("check", "--repo", example).code == 0


# -- interactive, with questionary's own test input --------------------------------------
ENTER = "\r"


def scripted_chooser(answers: list[str]) -> tuple[fix.Chooser, list[str]]:
    """A real questionary prompt per file, fed one key sequence per question."""
    asked: list[str] = []

    def ask(plan: fix.FilePlan) -> str | None:
        asked.append(plan.path)
        with create_pipe_input() as pipe:
            pipe.send_text(answers.pop(0))
            return fix.questionary_chooser(input=pipe, output=DummyOutput())(plan)

    return ask, asked


def interact(root: Path, names: list[str], answers: list[str]) -> tuple[fix.FixOutcome, str, list]:
    manifest = load_manifest(root)
    plans = fix.plan_fixes(manifest, names)
    ask, asked = scripted_chooser(answers)
    shown: list[str] = []
    outcome = fix.review_interactively(
        manifest, plans, ask=ask, echo=shown.append, force=False, colour=False
    )
    return outcome, "".join(shown), asked


def test_interactive_apply_skip_and_show_again(example: Path) -> None:
    names = ["session-worker", "cache-worker", "purchase-worker"]
    cache = dockerfile(example, "cache-worker").read_bytes()
    # apply (Enter on the first choice), skip (s, Enter), show diff again then apply (d, a).
    outcome, shown, asked = interact(example, names, [ENTER, "s" + ENTER, "d" + ENTER, "a" + ENTER])
    assert asked == [
        SESSION,
        "services/cache-worker/Dockerfile",
        "services/purchase-worker/Dockerfile",
        "services/purchase-worker/Dockerfile",
    ]
    assert outcome.written == (SESSION, "services/purchase-worker/Dockerfile")
    assert outcome.skipped == ("services/cache-worker/Dockerfile",)
    assert outcome.pending and not outcome.aborted
    assert shown.count("--- a/services/purchase-worker/Dockerfile") == 2  # shown again
    assert dockerfile(example, "cache-worker").read_bytes() == cache
    assert run_cli("check", "session-worker", "purchase-worker", "--repo", example).code == 0


def test_interactive_quit_keeps_what_was_accepted(example: Path) -> None:
    names = ["session-worker", "cache-worker", "purchase-worker"]
    outcome, _, asked = interact(example, names, [ENTER, "q" + ENTER])
    assert asked == [SESSION, "services/cache-worker/Dockerfile"]
    assert outcome.written == (SESSION,)
    assert outcome.skipped == (
        "services/cache-worker/Dockerfile",
        "services/purchase-worker/Dockerfile",
    )


def test_interactive_abort_writes_nothing(example: Path) -> None:
    before = snapshot(example)
    outcome, _, _ = interact(example, ["session-worker", "cache-worker"], [ENTER, "\x03"])
    assert outcome.aborted and outcome.written == ()
    assert snapshot(example) == before


def test_interactive_does_not_offer_a_file_that_needs_review(example: Path) -> None:
    add_timezone(example)
    outcome, shown, asked = interact(example, ["session-worker", "cache-worker"], [ENTER])
    assert asked == ["services/cache-worker/Dockerfile"]
    assert "needs review: line 5: ENV TZ=UTC" in shown
    assert outcome.written == ("services/cache-worker/Dockerfile",)


# -- interactive, the real CLI on a pseudo-terminal --------------------------------------
@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX only")
    import pty

    master, slave = pty.openpty()
    yield master, slave
    os.close(master)


def read_until(master: int, needle: bytes, seen: bytearray, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {needle!r}; got {bytes(seen)[-2000:]!r}"
        ready, _, _ = select.select([master], [], [], remaining)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break


def test_interactive_cli_on_a_terminal(example: Path, terminal: tuple[int, int]) -> None:
    master, slave = terminal
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "NO_COLOR": "1"}
    args = ["fix", "--interactive", "--repo", str(example), "session-worker", "cache-worker"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dockerforge", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = bytearray()
    cache = dockerfile(example, "cache-worker").read_bytes()
    try:
        read_until(master, b"session-worker/Dockerfile: apply this change?", seen)
        os.write(master, b"\r")  # apply
        read_until(master, b"cache-worker/Dockerfile: apply this change?", seen)
        os.write(master, b"s")
        time.sleep(0.2)
        os.write(master, b"\r")  # skip
        read_until(master, b"1 file fixed, 1 skipped", seen)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 1  # cache-worker is still pending
    assert b"runs as root -> USER nodejs (uid 1001)" in seen
    assert "pnpm install --frozen-lockfile" in dockerfile(example, "session-worker").read_text()
    assert dockerfile(example, "cache-worker").read_bytes() == cache
