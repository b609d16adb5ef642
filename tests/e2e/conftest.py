"""Real builds under a real Docker engine: what every e2e test shares.

- Engine discovery: the engine DOCKER_HOST names (or, when DOCKER_HOST is unset, the default
  engine, then the private one `.ci/docker-engine` starts). None answers -> every e2e test is
  skipped with one loud reason.
- The base image: the example is rendered with the debian family on `node:18-bookworm-slim`;
  when the engine lacks it, `.ci/stand-in-base-image` builds the CI stand-in.
- One copy of the example per session, migrated the way a user would (`dockerforge fix
  --write`), and each image built once per session and shared between tests.
- The CI rule: with DOCKERFORGE_E2E_REQUIRED=1 (set by `.ci/run`) a skipped e2e test, or no
  e2e test run at all, fails the session.

Always /usr/bin/docker (Debian's 20.10 client with BuildKit built in), builds with
`--network host` (the CI engine has no bridge), containers with `--network host` (loopback
ports only) or `--network none`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DOCKER = "/usr/bin/docker"
BASE_IMAGE = "node:18-bookworm-slim"
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "kodingcaravan"
REQUIRED_ENV = "DOCKERFORGE_E2E_REQUIRED"
WORKERS = ("session-worker", "notification-worker", "purchase-worker", "cache-worker")
BUILD_TIMEOUT = 1200  # seconds; a cold base stage (apt-get toolchain) takes about a minute


# --------------------------------------------------------------------------------------------
# The CI rule: in required mode, a skipped e2e test fails the run.


@dataclass
class _E2eRecord:
    ran: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


# One pytest process loads this conftest once; the record lives as long as the session.
_RECORD = _E2eRecord()


def _required() -> bool:
    return os.environ.get(REQUIRED_ENV) == "1"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "e2e" not in report.keywords:
        return
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _RECORD.skipped.append((report.nodeid, reason.removeprefix("Skipped: ")))
    elif report.when == "call":
        _RECORD.ran += 1


def _problems() -> list[str]:
    problems = [f"SKIPPED {nodeid}: {reason}" for nodeid, reason in _RECORD.skipped]
    if _RECORD.ran == 0:
        problems.append("no e2e test ran (deselected, or every one skipped)")
    return problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _required() or session.config.option.collectonly:
        return
    passing = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
    if _problems() and session.exitstatus in passing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _required() or config.option.collectonly:
        return
    problems = _problems()
    if not problems:
        return
    terminalreporter.section(f"{REQUIRED_ENV}=1: the real-build suite must run", sep="!", red=True)
    for problem in problems:
        terminalreporter.line(problem, red=True)
    terminalreporter.line(
        "FAILED: in CI (.ci/run) every e2e test must run against a real Docker engine.", red=True
    )


# --------------------------------------------------------------------------------------------
# BuildKit's plain progress output, read step by step.

_STEP_NAME = re.compile(r"^\[(?:(?P<stage>[\w.-]+) )?(?P<index>\d+)/(?P<count>\d+)\] (?P<text>.*)$")
_LINE = re.compile(r"^#(?P<id>\d+) (?P<rest>.*)$")
_LOG = re.compile(r"^(?P<at>\d+\.\d+) (?P<text>.*)$")


@dataclass
class Step:
    """One vertex of a BuildKit build, e.g. ``[deps 4/4] RUN pnpm install --frozen-lockfile``."""

    id: int
    name: str
    cached: bool = False
    done: bool = False
    error: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def stage(self) -> str | None:
        match = _STEP_NAME.match(self.name)
        return match["stage"] if match else None

    @property
    def instruction(self) -> str:
        match = _STEP_NAME.match(self.name)
        return match["text"] if match else self.name


def parse_plain_progress(output: str) -> list[Step]:
    """The steps of `docker build --progress=plain` output, in the order they first appear."""
    steps: dict[int, Step] = {}
    for line in output.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        vertex, rest = int(match["id"]), match["rest"]
        step = steps.get(vertex)
        if step is None:  # the first line of a vertex is its name
            steps[vertex] = Step(vertex, rest)
            continue
        if rest == "CACHED":
            step.cached = True
        elif rest.startswith("DONE"):
            step.done = True
        elif rest.startswith("ERROR"):
            step.error = rest.partition(" ")[2]
        elif log := _LOG.match(rest):
            step.log.append(log["text"])
    return list(steps.values())


@dataclass
class Build:
    dockerfile: str
    tag: str | None
    returncode: int
    output: str
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def step(self, stage: str, instruction: str) -> Step:
        """The step of ``stage`` whose instruction is exactly ``instruction``."""
        found = [s for s in self.steps if s.stage == stage and s.instruction == instruction]
        assert len(found) == 1, (
            f"expected one step [{stage} ...] {instruction!r} in the build of {self.dockerfile}, "
            f"found {len(found)}; steps: {[s.name for s in self.steps]}"
        )
        return found[0]

    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps if s.error is not None]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


# --------------------------------------------------------------------------------------------
# The engine, containers and images.


def _free_port() -> int:
    """A loopback TCP port nobody listens on (and not one of the example's own 3000-3099)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if not 3000 <= port <= 3099:
            return port


@dataclass
class Container:
    engine: Engine
    name: str
    image: str

    def inspect(self) -> dict[str, Any]:
        return json.loads(self.engine.docker("container", "inspect", self.name).stdout)[0]

    def logs(self) -> str:
        result = self.engine.docker("logs", self.name)
        return result.stdout + result.stderr

    def exec(self, *command: str) -> str:
        return self.engine.docker("exec", self.name, *command).stdout

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """Wait until a line of the container's output matches ``pattern``."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            logs = self.logs()
            if match := regex.search(logs):
                return match
            state = self.inspect()["State"]
            if not state["Running"] or time.monotonic() > deadline:
                pytest.fail(
                    f"{self.name} ({self.image}) never printed /{pattern}/ "
                    f"(running={state['Running']}, exit code {state['ExitCode']}); output:\n{logs}"
                )
            time.sleep(0.25)

    def get(self, port: int, path: str, *, timeout: float = 30) -> tuple[int, bytes]:
        """GET http://127.0.0.1:<port><path>, retried until it answers or the container exits."""
        # No proxy: the request goes straight to the loopback port.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            try:
                with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.read()
            except OSError as error:
                state = self.inspect()["State"]
                if not state["Running"] or time.monotonic() > deadline:
                    pytest.fail(
                        f"GET {path} on 127.0.0.1:{port}: {error} (running={state['Running']}); "
                        f"output of {self.name}:\n{self.logs()}"
                    )
                time.sleep(0.25)

    def stop(self, grace: int = 10) -> tuple[int, float]:
        """`docker stop` (SIGTERM, SIGKILL after ``grace`` s): the exit code and seconds taken."""
        started = time.monotonic()
        self.engine.docker("stop", "-t", str(grace), self.name, timeout=grace + 60)
        return self.inspect()["State"]["ExitCode"], time.monotonic() - started


class Engine:
    """A Docker engine that answers, reached with /usr/bin/docker and BuildKit."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        # Other sessions may share the engine: every name this session makes carries its id.
        self.session = uuid.uuid4().hex[:10]
        self._containers: list[str] = []
        self._images: list[str] = []

    def docker(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [DOCKER, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"docker {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def tag(self, name: str) -> str:
        return f"dockerforge-e2e/{name}:{self.session}"

    def build(
        self,
        context: Path,
        dockerfile: str,
        tag: str | None = None,
        *,
        target: str | None = None,
    ) -> Build:
        """`docker build` from ``context`` with plain progress; never raises on failure."""
        command = [DOCKER, "build", "--network", "host", "--progress", "plain", "-f", dockerfile]
        if target:
            command += ["--target", target]
        if tag:
            command += ["-t", tag]
            self._images.append(tag)
        command.append(".")
        result = subprocess.run(
            command,
            cwd=context,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        output = result.stderr + result.stdout  # BuildKit writes its progress to stderr
        return Build(dockerfile, tag, result.returncode, output, parse_plain_progress(output))

    def run(
        self,
        image: str,
        name: str,
        *,
        network: str = "none",
        env: dict[str, str] | None = None,
        options: Sequence[str] = (),
    ) -> Container:
        """Start a detached container (removed at the end of the session)."""
        full_name = f"dockerforge-e2e-{self.session}-{name}"
        command = ["run", "-d", "--name", full_name, "--network", network]
        for key, value in (env or {}).items():
            command += ["-e", f"{key}={value}"]
        self._containers.append(full_name)
        self.docker(*command, *options, image)
        return Container(self, full_name, image)

    def probe(self, image: str, script: str) -> str:
        """Run a shell script as root in a throwaway container of ``image``; its stdout."""
        return self.docker(
            "run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "/bin/sh",
            image, "-c", script,
        ).stdout  # fmt: skip

    def image_inspect(self, image: str) -> dict[str, Any]:
        return json.loads(self.docker("image", "inspect", image).stdout)[0]

    def cleanup(self) -> None:
        for name in self._containers:
            self.docker("rm", "-f", "-v", name, check=False)
        for tag in dict.fromkeys(self._images):
            self.docker("image", "rm", tag, check=False)


def _ci_engine_host() -> str | None:
    """DOCKER_HOST of the private engine `.ci/docker-engine start` runs, if the script exists."""
    script = REPO / ".ci" / "docker-engine"
    if not script.exists():
        return None
    result = subprocess.run(
        [str(script), "env"], capture_output=True, text=True, check=False, timeout=30
    )
    match = re.search(r"^export DOCKER_HOST=(\S+)$", result.stdout, re.MULTILINE)
    return match[1] if match else None


def discover_engine() -> tuple[dict[str, str] | None, str]:
    """The environment to reach an engine that answers, or None and why not."""
    if not os.access(DOCKER, os.X_OK):
        return None, f"{DOCKER} is missing (Debian's docker.io client with BuildKit)"
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    if os.environ.get("DOCKER_HOST"):
        hosts: list[str | None] = [os.environ["DOCKER_HOST"]]
    else:
        hosts = [None, _ci_engine_host()]
    tried = []
    for host in dict.fromkeys(hosts):
        candidate = dict(env)
        if host is None:
            candidate.pop("DOCKER_HOST", None)
        else:
            candidate["DOCKER_HOST"] = host
        try:
            result = subprocess.run(
                [DOCKER, "info", "--format", "{{.ServerVersion}}"],
                env=candidate,
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except subprocess.TimeoutExpired:
            tried.append(f"{host or 'default engine'}: `docker info` timed out")
            continue
        if result.returncode == 0:
            return candidate, f"engine {result.stdout.strip()} at {host or 'default'}"
        message = (result.stderr or result.stdout).strip().splitlines()
        tried.append(f"{host or 'default engine'}: {message[-1] if message else 'no answer'}")
    return None, "; ".join(tried)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    env, why = discover_engine()
    if env is None:
        pytest.skip(
            f"REAL-BUILD (e2e) TESTS SKIPPED: no Docker engine answers ({why}). "
            'Start one: `.ci/docker-engine start && eval "$(.ci/docker-engine env)"` '
            "(.ci/run does this, and fails when an e2e test is skipped)."
        )
    engine = Engine(env)
    if engine.docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        stand_in = subprocess.run(
            [str(REPO / ".ci" / "stand-in-base-image"), BASE_IMAGE],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if stand_in.returncode != 0:
            pytest.skip(
                f"REAL-BUILD (e2e) TESTS SKIPPED: base image {BASE_IMAGE} is missing and "
                f".ci/stand-in-base-image failed:\n{stand_in.stderr[-2000:]}"
            )
    yield engine
    engine.cleanup()


# --------------------------------------------------------------------------------------------
# The example, copied and migrated, and its images.


def dockerforge(root: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the dockerforge CLI of this checkout in ``root``."""
    return subprocess.run(
        [sys.executable, "-m", "dockerforge", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def has_command(name: str) -> bool:
    return dockerforge(REPO, name, "--help").returncode == 0


def copy_example(destination: Path) -> Path:
    """A copy of the example as committed (alpine family, the audited Dockerfiles)."""
    root = destination / "kodingcaravan"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("node_modules", "dist", "*.tsbuildinfo")
    )
    return root


def use_debian(root: Path) -> None:
    """Point the copy's manifest at the debian family: alpine cannot be built here."""
    manifest = root / "dockerforge.yaml"
    text, count = re.subn(
        r"(?m)^(\s+node:\s*)node:18-alpine\b", rf"\g<1>{BASE_IMAGE}", manifest.read_text()
    )
    assert count == 1, f"the example's image.node line changed shape: {manifest}"
    manifest.write_text(text)


def debian_copy(destination: Path) -> Path:
    """A copy of the example whose manifest asks for the debian family (buildable here)."""
    root = copy_example(destination)
    use_debian(root)
    return root


@dataclass
class Example:
    root: Path
    migrated_by: str  # the dockerforge command that wrote the Dockerfiles
    output: str  # what it printed on the example as committed


def _write(root: Path, command: tuple[str, ...]) -> str:
    result = dockerforge(root, *command)
    assert result.returncode == 0, (
        f"`dockerforge {' '.join(command)}` exited {result.returncode}:\n"
        f"{result.stdout}{result.stderr}"
    )
    return result.stdout


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """The example migrated the way a user would, then switched to the debian family.

    `dockerforge fix --write` on the example as committed migrates the audited Dockerfiles
    (the four npm workers, allocation-worker, notification-service); switching image.node to
    the debian stand-in is then a second `fix --write` of canonical files whose FROM drifted.
    (Switching first would make fix hold the non-canonical files for review: their FROM
    differs from the manifest's.) Until `fix` exists (issue 3), `render` writes the same
    files and the test that requires `fix --write` skips, which fails CI.
    """
    root = copy_example(tmp_path_factory.mktemp("example"))
    command = ("fix", "--write") if has_command("fix") else ("render",)
    output = _write(root, command)
    use_debian(root)
    _write(root, command)
    check = dockerforge(root, "check")
    assert check.returncode == 0, (
        f"`dockerforge check` after `dockerforge {' '.join(command)}` (exit {check.returncode}):\n"
        f"{check.stdout}{check.stderr}"
    )
    return Example(root, " ".join(command), output)


class Images:
    """Each service's image, built once per session from the migrated example."""

    def __init__(self, engine: Engine, example: Example) -> None:
        self.engine = engine
        self.example = example
        self._builds: dict[tuple[str, str | None], Build] = {}

    def build(self, service: str, target: str | None = None) -> Build:
        key = (service, target)
        if key not in self._builds:
            name = service if target is None else f"{service}-{target}"
            self._builds[key] = self.engine.build(
                self.example.root,
                f"services/{service}/Dockerfile",
                self.engine.tag(name),
                target=target,
            )
        return self._builds[key]

    def get(self, service: str, target: str | None = None) -> str:
        """The tag of the service's image; fails the test when the build failed."""
        build = self.build(service, target)
        if not build.ok:
            pytest.fail(
                f"docker build of services/{service}/Dockerfile"
                f"{f' --target {target}' if target else ''} exited {build.returncode}:\n"
                f"{build.tail()}"
            )
        assert build.tag is not None
        return build.tag


@pytest.fixture(scope="session")
def images(engine: Engine, example: Example) -> Images:
    return Images(engine, example)


# Helpers as fixtures: test modules never import the conftest by name.


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture(scope="session")
def run_dockerforge() -> Callable[..., subprocess.CompletedProcess[str]]:
    return dockerforge


@pytest.fixture(scope="session")
def example_copy() -> Callable[[Path], Path]:
    """Make a fresh debian-family copy of the example under a given folder."""
    return debian_copy
