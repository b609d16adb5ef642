"""`dockerforge new`: flags, prompts, refusals, and a scaffold that installs, builds and runs."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from dockerforge.commands import new as command
from dockerforge.manifest import load_manifest
from tests.conftest import AUDITED_DRIFT, run_cli, snapshot

PNPM = shutil.which("pnpm")
needs_pnpm = pytest.mark.skipif(
    PNPM is None or shutil.which("node") is None,
    reason="pnpm and node are not on PATH (CI has both); the scaffold cannot be installed",
)
DOWN, ENTER, CLEAR, SPACE = "\x1b[B", "\r", "\x15", " "  # arrow down, enter, ctrl-u, space


def new_cli(root: Path, *args: str, env: dict[str, str] | None = None):
    """`dockerforge new` without a terminal (stdin is not a tty under subprocess.run)."""
    return run_cli("new", *args, "--repo", root, env=env)


def removed(text: str, entry: str) -> str:
    assert text.count(entry) == 1
    at = text.index(entry)
    return text[:at] + text[at + len(entry) :]


# -- the flag flow --------------------------------------------------------------------------
def test_http_service_from_flags(example: Path) -> None:
    manifest_before = (example / "dockerforge.yaml").read_text()
    result = new_cli(example, "billing-service", "--kind", "http", "--port", "3012", "--yes")
    assert result.code == 0, result.stderr
    folder = example / "services" / "billing-service"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "Dockerfile",
        "package.json",
        "src",
        "src/index.ts",
        "tsconfig.json",
    ]
    assert result.stdout.splitlines()[:7] == [
        "created billing-service (http on port 3012, health /health) in services/billing-service",
        "  wrote services/billing-service/package.json",
        "  wrote services/billing-service/tsconfig.json",
        "  wrote services/billing-service/src/index.ts",
        "  wrote services/billing-service/Dockerfile",
        "  wrote dockerforge.yaml",
        "next steps:",
    ]
    assert "pnpm install  # updates pnpm-lock.yaml" in result.stdout

    package = json.loads((folder / "package.json").read_text())
    sibling = json.loads((example / "services" / "course-service" / "package.json").read_text())
    assert package == {
        "name": "@kodingcaravan/billing-service",
        "version": sibling["version"],
        "private": True,
        "main": "dist/index.js",
        "scripts": {"build": sibling["scripts"]["build"], "start": "node dist/index.js"},
        "dependencies": {"@kodingcaravan/shared": "workspace:*"},
    }
    tsconfig = json.loads((folder / "tsconfig.json").read_text())
    assert tsconfig == json.loads(
        (example / "services" / "course-service" / "tsconfig.json").read_text()
    )
    source = (folder / "src" / "index.ts").read_text()
    assert "import '@kodingcaravan/shared';" in source
    assert "Number(process.env.PORT ?? 3012)" in source
    assert "req.url === '/health'" in source
    assert "process.once('SIGTERM'" in source

    manifest = (example / "dockerforge.yaml").read_text()
    assert removed(manifest, "  billing-service:\n    port: 3012\n") == manifest_before
    loaded = load_manifest(example).service("billing-service")
    assert loaded is not None and (loaded.kind, loaded.port, loaded.health) == (
        "http",
        3012,
        "/health",
    )


def test_check_is_clean_for_the_new_service_and_nothing_else_drifts(example: Path) -> None:
    assert new_cli(example, "billing-service", "--port", "3012").code == 0
    own = run_cli("check", "billing-service", "--repo", example)
    assert (own.code, own.stdout) == (0, "1 file matches its template\n")
    everything = run_cli("check", "--repo", example)
    drifted = set(re.findall(r"^\+\+\+ b/services/([^/]+)/Dockerfile$", everything.stdout, re.M))
    assert drifted == AUDITED_DRIFT  # the example's audited files, and no new one
    dockerfile = (example / "services" / "billing-service" / "Dockerfile").read_text()
    assert "EXPOSE 3012" in dockerfile and "COPY shared/package.json shared/" in dockerfile


def test_worker_with_deps_and_env_from_flags(example: Path) -> None:
    manifest_before = (example / "dockerforge.yaml").read_text()
    result = new_cli(
        example, "report-worker", "--kind", "worker", "--dep", "admin-service",
        "--env", "JWT_SECRET", "--env", "DATABASE_URL,REDIS_URL", "--yes",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    entry = (
        "  report-worker:\n"
        "    kind: worker\n"
        "    deps: [admin-service]\n"
        "    env: [JWT_SECRET, DATABASE_URL, REDIS_URL]\n"
    )
    manifest = (example / "dockerforge.yaml").read_text()
    assert manifest == manifest_before + entry  # after the last worker, at the end
    source = (example / "services" / "report-worker" / "src" / "index.ts").read_text()
    assert "import '@kodingcaravan/shared/worker';" in source  # shared exports ./worker
    assert "const required = ['JWT_SECRET', 'DATABASE_URL', 'REDIS_URL'];" in source
    dockerfile = (example / "services" / "report-worker" / "Dockerfile").read_text()
    assert "COPY services/admin-service/package.json services/admin-service/" in dockerfile
    assert "EXPOSE" not in dockerfile and "HEALTHCHECK" not in dockerfile
    assert run_cli("check", "report-worker", "--repo", example).code == 0


def test_worker_imports_the_shared_package_when_it_has_no_worker_entry(example: Path) -> None:
    shared = example / "shared" / "package.json"
    data = json.loads(shared.read_text())
    del data["exports"], data["typesVersions"]
    shared.write_text(json.dumps(data, indent=2) + "\n")
    assert new_cli(example, "mail-worker", "--kind", "worker").code == 0
    source = (example / "services" / "mail-worker" / "src" / "index.ts").read_text()
    assert "import '@kodingcaravan/shared';" in source


def test_layout_without_shared_package_follows_its_siblings(multilib: Path) -> None:
    before = (multilib / "dockerforge.yaml").read_text()
    result = new_cli(multilib, "web", "--port", "8081", "--health", "/healthz")
    assert result.code == 0, result.stderr
    folder = multilib / "apps" / "web"  # the manifest's services folder
    package = json.loads((folder / "package.json").read_text())
    assert package["name"] == "@acme/web"
    assert package["scripts"]["build"] == "tsc"  # as apps/api builds
    assert package["dependencies"] == {}
    assert package["devDependencies"] == {"@acme/tsconfig": "workspace:*"}  # api's TS setup
    tsconfig = json.loads((folder / "tsconfig.json").read_text())
    assert "extends" not in tsconfig and tsconfig["compilerOptions"]["outDir"] == "dist"
    source = (folder / "src" / "index.ts").read_text()
    assert source.startswith("import * as http from 'node:http';\n\nconst name = 'web';")
    assert "req.url === '/healthz'" in source
    manifest = (multilib / "dockerforge.yaml").read_text()
    assert removed(manifest, "  web:\n    port: 8081\n    health: /healthz\n") == before
    assert run_cli("check", "web", "--repo", multilib).code == 0


# -- without a terminal, nothing is asked ---------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["billing-service"],
            "say what billing-service is: --kind http (with --port) or --kind worker",
        ),
        (["billing-service", "--yes"], "say what billing-service is"),
        (["billing-service", "--kind", "http"], "an http service needs a port: add --port 3012"),
    ],
)
def test_a_missing_answer_without_a_terminal_fails_and_writes_nothing(
    example: Path, args: list[str], message: str
) -> None:
    before = snapshot(example)
    result = new_cli(example, *args)
    assert result.code == 2
    assert result.stderr.startswith("dockerforge: " + message), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(example) == before


# -- refusals ---------------------------------------------------------------------------------
REFUSALS = [
    (["Billing", "--port", "3012"], "'Billing' is not a valid service name"),
    (["-x", "--port", "3012"], None),  # typer reads it as an unknown option: still exit 2
    (["billing.service!", "--port", "3012"], "'billing.service!' is not a valid service name"),
    (["api-gateway", "--port", "3012"], "service 'api-gateway' already exists ("),
    (["shared", "--port", "3012"], "package @kodingcaravan/shared already exists in shared"),
    (
        ["billing-service", "--kind", "worker", "--dep", "admin-servce"],
        "--dep: unknown service 'admin-servce'; did you mean 'admin-service'?",
    ),
    (
        ["billing-service", "--port", "3005"],
        "--port: port 3005 is already used by notification-service (",
    ),
    (["billing-service", "--port", "70000"], "--port: port 70000 is not between 1 and 65535"),
    (["billing-service", "--kind", "worker", "--port", "3012"], "--port: a worker has no port"),
    (["billing-service", "--kind", "cron"], "--kind: expected http or worker, got 'cron'"),
    (
        ["billing-service", "--port", "3012", "--health", "health"],
        "--health: 'health' is not a URL path",
    ),
    (
        ["billing-service", "--kind", "worker", "--env", "jwt_secret"],
        "--env: 'jwt_secret': an environment variable name",
    ),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS)
def test_refusals_write_nothing(example: Path, args: list[str], message: str | None) -> None:
    before = snapshot(example)
    result = new_cli(example, *args)
    assert result.code == 2, result.stdout
    if message is not None:
        assert result.stderr.startswith("dockerforge: " + message), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(example) == before


def test_a_conflict_names_the_line_of_the_manifest(example: Path) -> None:
    taken = new_cli(example, "billing-service", "--port", "3005")
    assert "dockerforge.yaml:22); the next free one is 3012\n" in taken.stderr
    exists = new_cli(example, "api-gateway", "--port", "3012")
    assert "dockerforge.yaml:9); choose another name\n" in exists.stderr


def test_an_existing_folder_is_refused(example: Path) -> None:
    (example / "services" / "billing-service").mkdir()
    before = snapshot(example)
    result = new_cli(example, "billing-service", "--port", "3012")
    assert result.code == 2
    assert "services/billing-service already exists" in result.stderr
    assert snapshot(example) == before
    assert not any((example / "services" / "billing-service").iterdir())


def test_install_without_pnpm_on_path_is_refused_before_writing(
    example: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    before = snapshot(example)
    env = {**os.environ, "PATH": str(empty)}
    result = new_cli(example, "billing-service", "--port", "3012", "--install", env=env)
    assert result.code == 2
    assert "pnpm is not on PATH" in result.stderr
    assert snapshot(example) == before


def test_a_folder_outside_the_workspace_globs_is_refused_with_the_reason(example: Path) -> None:
    (example / "pnpm-workspace.yaml").write_text(
        'packages:\n  - "shared"\n  - "services/*-service"\n  - "services/api-gateway"\n'
    )
    (example / "package.json").write_text(
        (example / "package.json")
        .read_text()
        .replace('"services/*"', '"services/*-service", "services/api-gateway"')
    )
    # Drop the workers from the manifest: their folders no longer match the globs.
    text = (example / "dockerforge.yaml").read_text()
    (example / "dockerforge.yaml").write_text(text[: text.index("\n  # Workers")] + "\n")
    before = snapshot(example)
    result = new_cli(example, "billing-worker", "--kind", "worker")
    assert result.code == 2
    assert "the new service would not load" in result.stderr
    assert "not matched by the workspace globs" in result.stderr
    assert snapshot(example) == before


# -- templates --------------------------------------------------------------------------------
def add_templates_folder(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / "df-templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    manifest = root / "dockerforge.yaml"
    manifest.write_text("templates: df-templates\n" + manifest.read_text())


def test_a_repository_overrides_the_scaffold_templates(example: Path) -> None:
    add_templates_folder(
        example,
        {"scaffold/http.ts.j2": "// {{ name }} from our own template, port {{ port }}\n"},
    )
    assert new_cli(example, "billing-service", "--port", "3012").code == 0
    source = (example / "services" / "billing-service" / "src" / "index.ts").read_text()
    assert source == "// billing-service from our own template, port 3012\n"
    assert json.loads((example / "services" / "billing-service" / "package.json").read_text())


def test_a_broken_package_json_template_writes_nothing(example: Path) -> None:
    add_templates_folder(example, {"scaffold/package.json.j2": '{"name": "{{ package }}",}\n'})
    before = snapshot(example)
    result = new_cli(example, "billing-service", "--port", "3012")
    assert result.code == 2
    assert result.stderr.startswith("df-templates/scaffold/package.json.j2: template ") or (
        "scaffold/package.json.j2 renders invalid JSON" in result.stderr
    ), result.stderr
    assert snapshot(example) == before


def test_dockerignore_follows_a_new_output_folder_when_it_was_current(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "services" / "api").mkdir(parents=True)
    (root / "package.json").write_text(
        '{"name": "r", "private": true, "packageManager": "pnpm@9.15.9",'
        ' "engines": {"node": ">=18"}}\n'
    )
    (root / "pnpm-workspace.yaml").write_text('packages:\n  - "services/*"\n')
    (root / "services" / "api" / "package.json").write_text(
        '{"name": "@r/api", "main": "build/index.js", "scripts": {"build": "tsc"}}\n'
    )
    (root / "dockerforge.yaml").write_text(
        "services:\n  api:\n    port: 3000\n    entrypoint: build/index.js\n"
    )
    assert run_cli("render", "--repo", root).code == 0
    assert "**/dist" not in (root / ".dockerignore").read_text()
    result = new_cli(root, "web", "--port", "3001")
    assert result.code == 0, result.stderr
    assert "  wrote .dockerignore" in result.stdout
    assert "**/dist" in (root / ".dockerignore").read_text()
    assert run_cli("check", "--repo", root).code == 0


def test_a_hand_edited_dockerignore_is_left_alone(example: Path) -> None:
    ignore = example / ".dockerignore"
    ignore.write_text(ignore.read_text() + "secrets/\n")
    before = ignore.read_bytes()
    assert new_cli(example, "billing-service", "--port", "3012").code == 0
    assert ignore.read_bytes() == before


# -- prompts ----------------------------------------------------------------------------------
def answer(manifest, name: str, keys: str, *, install: bool = False):
    with create_pipe_input() as keyboard:
        keyboard.send_text(keys)
        return command.ask(
            manifest,
            name,
            install=install,
            prompt_options={"input": keyboard, "output": DummyOutput()},
        )


def test_interactive_http_service(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command.shutil, "which", lambda _: None)  # no "run pnpm install?"
    manifest = load_manifest(example)
    admin = [s.name for s in manifest.services].index("admin-service")
    keys = (
        ENTER  # kind: http (the first choice)
        + CLEAR + "3005" + ENTER  # taken: the prompt refuses it and stays
        + CLEAR + "3020" + ENTER  # port
        + ENTER  # health: the default /health
        + DOWN * admin + SPACE + ENTER  # deps: admin-service
        + "JWT_SECRET, DATABASE_URL" + ENTER
        + "y"  # create it
    )  # fmt: skip
    asked = answer(manifest, "billing-service", keys)
    assert asked == (
        command.Request(
            name="billing-service",
            kind="http",
            port=3020,
            health="/health",
            deps=("admin-service",),
            env=("JWT_SECRET", "DATABASE_URL"),
        ),
        False,
    )
    request, install = asked
    created = command.create(manifest, request, install=install)
    assert created.install_code is None
    text = (example / "dockerforge.yaml").read_text()
    assert "  billing-service:\n    port: 3020\n    deps: [admin-service]\n" in text
    assert run_cli("check", "billing-service", "--repo", example).code == 0


def test_interactive_port_suggestion_is_the_next_free_one(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command.shutil, "which", lambda _: "/usr/bin/pnpm")
    manifest = load_manifest(example)
    keys = ENTER + ENTER + CLEAR + "/ready" + ENTER + ENTER + ENTER + "y" + "y"
    request, install = answer(manifest, "billing-service", keys)
    assert (request.port, request.health, request.deps, request.env) == (3012, "/ready", (), ())
    assert install is True  # the "run pnpm install afterwards?" question, answered yes


def test_interactive_worker_declined_writes_nothing(example: Path, monkeypatch) -> None:
    monkeypatch.setattr(command.shutil, "which", lambda _: None)
    manifest = load_manifest(example)
    before = snapshot(example)
    assert answer(manifest, "report-worker", DOWN + ENTER + ENTER + ENTER + "n") is None
    assert snapshot(example) == before


def test_interactive_refuses_an_existing_name_before_asking(example: Path) -> None:
    manifest = load_manifest(example)
    with pytest.raises(command.UserError, match="already exists"):
        answer(manifest, "chat-service", "")  # no keys: asking anything would hang or fail


def read_until(fd: int, pattern: str, seen: list[str], timeout: float = 20) -> None:
    """Read the terminal until ``pattern`` appears (escape sequences removed)."""
    deadline = time.monotonic() + timeout
    while True:
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r", "", "".join(seen))
        if pattern in text:
            seen.clear()
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no {pattern!r} on the terminal; saw {text[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode(errors="replace"))
            except OSError:  # the child closed the terminal
                raise AssertionError(
                    f"terminal closed before {pattern!r}; saw {text[-500:]!r}"
                ) from None


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_the_real_cli_asks(example: Path) -> None:
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "PATH": os.path.dirname(sys.executable)}
    process = subprocess.Popen(
        [sys.executable, "-m", "dockerforge", "new", "pay-worker", "--repo", str(example)],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True,
    )  # fmt: skip
    os.close(secondary)
    seen: list[str] = []
    try:
        for prompt, keys in [
            ("What is pay-worker?", DOWN + ENTER),
            ("Other services it needs at runtime", ENTER),
            ("Required environment variables", "QUEUE_URL" + ENTER),
            ("Create services/pay-worker", "y"),
            ("next steps:", ""),
        ]:
            read_until(primary, prompt, seen)
            time.sleep(0.2)  # let the prompt finish drawing before typing
            os.write(primary, keys.encode())
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(primary)
    text = (example / "dockerforge.yaml").read_text()
    assert text.endswith("  pay-worker:\n    kind: worker\n    env: [QUEUE_URL]\n")
    assert run_cli("check", "pay-worker", "--repo", example).code == 0


# -- pnpm: the lockfile, the build, the running service ---------------------------------------
def pnpm(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(
        [PNPM or "pnpm", *args], cwd=root, capture_output=True, text=True, env=env, timeout=600
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_pnpm
def test_without_install_the_frozen_lockfile_install_fails(example: Path) -> None:
    assert new_cli(example, "billing-service", "--port", "3012").code == 0
    frozen = pnpm(example, "install", "--frozen-lockfile")
    assert frozen.returncode != 0
    assert "ERR_PNPM_OUTDATED_LOCKFILE" in frozen.stdout + frozen.stderr


@needs_pnpm
def test_install_updates_the_lockfile_and_the_service_builds_and_runs(example: Path) -> None:
    lockfile = example / "pnpm-lock.yaml"
    before = lockfile.read_text()
    # The exact command the real-build suite runs (issue 5), and a worker beside it.
    result = new_cli(
        example, "billing-service", "--kind", "http", "--port", "3012", "--yes", "--install"
    )
    assert result.code == 0, result.stdout + result.stderr
    assert "pnpm install  #" not in result.stdout  # no longer a next step
    worker = new_cli(example, "report-worker", "--kind", "worker", "--yes", "--install")
    assert worker.code == 0, worker.stdout + worker.stderr
    after = lockfile.read_text()
    assert after != before
    assert "services/billing-service:" in after and "services/report-worker:" in after

    frozen = pnpm(example, "install", "--frozen-lockfile")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    build = pnpm(
        example, "--filter", "@kodingcaravan/billing-service...",
        "--filter", "@kodingcaravan/report-worker...", "build",
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    service = example / "services" / "billing-service"
    assert (service / "dist" / "index.js").is_file()

    port = free_port()
    server = subprocess.Popen(
        ["node", "dist/index.js"], cwd=service, env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        status = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                    status = reply.status
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        if server.poll() is None:
            server.kill()

    worker_process = subprocess.Popen(
        ["node", "dist/index.js"], cwd=example / "services" / "report-worker",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert worker_process.stdout is not None
        assert worker_process.stdout.readline() == "report-worker started\n"
        worker_process.send_signal(signal.SIGTERM)
        assert worker_process.wait(timeout=10) == 0
        assert "report-worker stopped (SIGTERM)" in worker_process.stdout.read()
    finally:
        if worker_process.poll() is None:
            worker_process.kill()
