#!/usr/bin/env python3
"""Runtime image size and cold / warm rebuild time of one worker, three ways, in one run.

    .venv/bin/python bench/image-size-and-rebuild.py [--worker session-worker]

Needs the engine of `.ci/docker-engine start` (or DOCKER_HOST) and the `node:18-bookworm-slim`
image (`.ci/stand-in-base-image`). Works on a temporary copy of examples/kodingcaravan whose
manifest uses the debian family (alpine cannot be built on this machine), and compares:

  audit-npm    the worker's Dockerfile as the audit found it (npm in a pnpm repo), with its
               `FROM node:18-alpine` swapped for `node:18-bookworm-slim`, nothing else changed;
  dockerforge  `dockerforge render <worker>` (debian family);
  pnpm-deploy  bench/pnpm-deploy.Dockerfile, the pnpm documentation's `pnpm deploy --prod`
               recipe (see the comments in that file for where it departs from the docs).

For each: a cold build (`--no-cache`; for pnpm-deploy the BuildKit cache mount that holds its
pnpm store is emptied first), the image size, a smoke run (does the worker print its marker,
what does `docker stop` return), then a source-only change (one new line in the worker's
src/index.ts, unique per run) and a warm rebuild. Measured, never asserted: results go to
bench/results/image-size-and-rebuild.{json,md}.

Stdlib only. Builds use /usr/bin/docker with BuildKit and --network host; containers run with
--network none. Every image and container it makes is removed at the end; the build cache is
left alone except for the pnpm cache mounts (`docker builder prune --filter
type=exec.cachemount`), which nothing else in this project uses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

DOCKER = "/usr/bin/docker"
BASE_IMAGE = "node:18-bookworm-slim"
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "kodingcaravan"
RESULTS = REPO / "bench" / "results"
PNPM_DEPLOY = REPO / "bench" / "pnpm-deploy.Dockerfile"
STEP_NAME = re.compile(r"^#(\d+) (\[.*)$")


@dataclass
class BuildResult:
    seconds: float
    ok: bool
    steps: int  # Dockerfile steps BuildKit ran or took from the cache
    cached_steps: int
    install_cached: bool  # the dependency-install step came from the cache
    failed_step: str | None = None
    error: str | None = None  # the first error lines in the failed step's log


@dataclass
class Variant:
    name: str
    dockerfile: str  # relative to the example copy's root (the build context)
    install_step: str  # text that identifies its dependency-install step
    description: str
    cold: BuildResult | None = None
    warm: BuildResult | None = None
    size_bytes: int | None = None
    size_over_base_bytes: int | None = None
    smoke: dict[str, object] = field(default_factory=dict)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def docker(env: dict[str, str], *args: str, check: bool = True, timeout: float = 300) -> str:
    result = subprocess.run(
        [DOCKER, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout + (result.stderr if args[0] == "logs" else "")


def engine_env() -> dict[str, str]:
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    if not env.get("DOCKER_HOST"):
        exported = subprocess.run(
            [str(REPO / ".ci" / "docker-engine"), "env"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if match := re.search(r"^export DOCKER_HOST=(\S+)$", exported, re.MULTILINE):
            env["DOCKER_HOST"] = match[1]
    if subprocess.run([DOCKER, "info"], env=env, capture_output=True, check=False).returncode:
        raise SystemExit("no Docker engine answers: run .ci/docker-engine start")
    inspect = [DOCKER, "image", "inspect", BASE_IMAGE]
    if subprocess.run(inspect, env=env, capture_output=True, check=False).returncode:
        raise SystemExit(f"{BASE_IMAGE} is missing: run .ci/stand-in-base-image")
    return env


def build(
    env: dict[str, str], root: Path, variant: Variant, tag: str, *, cold: bool
) -> BuildResult:
    command = [DOCKER, "build", "--network", "host", "--progress", "plain"]
    command += ["-f", variant.dockerfile, "-t", tag]
    if cold:
        command.append("--no-cache")
    started = time.monotonic()
    result = subprocess.run(
        [*command, "."], cwd=root, env=env, capture_output=True, text=True, timeout=1800
    )
    seconds = round(time.monotonic() - started, 1)
    steps = parse_progress(result.stderr + result.stdout)
    dockerfile_steps = [
        s for s in steps if s["name"].startswith("[") and "internal]" not in s["name"]
    ]
    install = [s for s in dockerfile_steps if variant.install_step in s["name"]]
    failed = next((s for s in steps if s["error"]), None)
    return BuildResult(
        seconds=seconds,
        ok=result.returncode == 0,
        steps=len(dockerfile_steps),
        cached_steps=sum(1 for s in dockerfile_steps if s["cached"]),
        install_cached=bool(install) and all(s["cached"] for s in install),
        failed_step=failed["name"] if failed else None,
        error=(" / ".join(failed["error_lines"]) or failed["error"]) if failed else None,
    )


def parse_progress(output: str) -> list[dict]:
    """BuildKit `--progress=plain` output as steps: name, CACHED, ERROR and first error line."""
    steps: dict[str, dict] = {}
    for line in output.splitlines():
        match = re.match(r"^#(\d+) (.*)$", line)
        if not match:
            continue
        vertex, rest = match[1], match[2]
        if vertex not in steps:  # the first line of a vertex is its name
            steps[vertex] = {"name": rest, "cached": False, "error": None, "error_lines": []}
            continue
        step = steps[vertex]
        text = re.sub(r"^\d+\.\d+ ", "", rest)
        if rest == "CACHED":
            step["cached"] = True
        elif rest.startswith("ERROR"):
            step["error"] = rest
        elif re.search(r"ERR_|npm error|Error:", text) and len(step["error_lines"]) < 2:
            step["error_lines"].append(text.strip())
    return list(steps.values())


def smoke(env: dict[str, str], tag: str, worker: str) -> dict[str, object]:
    """Start the image: does the worker print its marker, and how does `docker stop` end?"""
    name = f"dockerforge-bench-{uuid.uuid4().hex[:8]}"
    docker(env, "run", "-d", "--name", name, "--network", "none", tag)
    try:
        deadline = time.monotonic() + 30
        ready = False
        while not ready and time.monotonic() < deadline:
            ready = f"WORKER_READY name={worker}" in docker(env, "logs", name)
            time.sleep(0.25)
        started = time.monotonic()
        docker(env, "stop", "-t", "10", name, timeout=60)
        stop_seconds = round(time.monotonic() - started, 1)
        state = json.loads(docker(env, "inspect", name))[0]["State"]
        return {
            "worker_ready": ready,
            "stop_exit_code": state["ExitCode"],
            "stop_seconds": stop_seconds,
            "worker_stopped_line": f"WORKER_STOPPED name={worker}" in docker(env, "logs", name),
        }
    finally:
        docker(env, "rm", "-f", name, check=False)


def prepare(workdir: Path, worker: str) -> tuple[Path, list[Variant]]:
    """A debian-family copy of the example holding the three Dockerfiles to compare."""
    root = workdir / "kodingcaravan"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("node_modules", "dist", "*.tsbuildinfo")
    )
    audited = (root / "services" / worker / "Dockerfile").read_text()
    npm_file, swapped = re.subn(r"(?m)^FROM node:18-alpine$", f"FROM {BASE_IMAGE}", audited)
    if swapped != 1:
        raise SystemExit(f"services/{worker}/Dockerfile no longer says FROM node:18-alpine")
    (root / "audit-npm.Dockerfile").write_text(npm_file)

    manifest = root / "dockerforge.yaml"
    text, count = re.subn(
        r"(?m)^(\s+node:\s*)node:18-alpine\b", rf"\g<1>{BASE_IMAGE}", manifest.read_text()
    )
    if count != 1:
        raise SystemExit("the example's image.node line changed shape")
    manifest.write_text(text)
    render = subprocess.run(
        [sys.executable, "-m", "dockerforge", "render", worker],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if render.returncode != 0:
        raise SystemExit(f"dockerforge render failed:\n{render.stdout}{render.stderr}")

    deploy = PNPM_DEPLOY.read_text().replace("session-worker", worker)
    (root / "pnpm-deploy.Dockerfile").write_text(deploy)
    return root, [
        Variant(
            "audit-npm",
            "audit-npm.Dockerfile",
            "RUN npm install --legacy-peer-deps",
            f"the audit's services/{worker}/Dockerfile (npm), FROM swapped to {BASE_IMAGE}",
        ),
        Variant(
            "dockerforge",
            f"services/{worker}/Dockerfile",
            "[deps 4/4] RUN pnpm install --frozen-lockfile",
            "`dockerforge render` (debian family)",
        ),
        Variant(
            "pnpm-deploy",
            "pnpm-deploy.Dockerfile",
            "pnpm install --frozen-lockfile",
            "bench/pnpm-deploy.Dockerfile: the pnpm docs' `pnpm deploy --prod` recipe",
        ),
    ]


def measure(env: dict[str, str], root: Path, variants: list[Variant], worker: str) -> None:
    source = root / "services" / worker / "src" / "index.ts"
    original = source.read_text()
    base_size = json.loads(docker(env, "image", "inspect", BASE_IMAGE))[0]["Size"]
    tags: list[str] = []
    try:
        for variant in variants:
            run = uuid.uuid4().hex[:8]
            tag, warm_tag = (
                f"dockerforge-bench/{variant.name}:{run}-{p}" for p in ("cold", "warm")
            )
            tags += [tag, warm_tag]
            source.write_text(original)
            if variant.name == "pnpm-deploy":  # its pnpm store lives in a BuildKit cache mount
                docker(env, "builder", "prune", "-f", "--filter", "type=exec.cachemount")
            log(f"{variant.name}: cold build (--no-cache)")
            variant.cold = build(env, root, variant, tag, cold=True)
            log(f"{variant.name}: cold {variant.cold.seconds} s, ok={variant.cold.ok}")
            if variant.cold.ok:
                size = json.loads(docker(env, "image", "inspect", tag))[0]["Size"]
                variant.size_bytes = size
                variant.size_over_base_bytes = size - base_size
                variant.smoke = smoke(env, tag, worker)
            # A line the build cache has never seen, so the warm build must compile again.
            source.write_text(original + f"console.log('bench change {uuid.uuid4().hex}');\n")
            log(f"{variant.name}: warm build after a source-only change")
            variant.warm = build(env, root, variant, warm_tag, cold=False)
            log(f"{variant.name}: warm {variant.warm.seconds} s, ok={variant.warm.ok}")
    finally:
        source.write_text(original)
        for tag in tags:
            docker(env, "image", "rm", "-f", tag, check=False)


def machine(env: dict[str, str]) -> dict[str, object]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    info = json.loads(docker(env, "info", "--format", "{{json .}}"))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
        check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "cpu": model[1] if model else platform.processor(),
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory[1]) / 2**20, 1) if memory else None,
        "kernel": platform.release(),
        "docker": info.get("ServerVersion"),
        "storage_driver": info.get("Driver"),
        "base_image": BASE_IMAGE + " (CI stand-in: Debian bookworm + Node 18 + npm 10.8.2)",
        "dockerforge_commit": commit or None,
    }


def mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f} MB"


def build_cell(result: BuildResult | None) -> str:
    if result is None:
        return "-"
    if not result.ok:
        return f"fails after {result.seconds} s"
    return f"{result.seconds} s"


def markdown(report: dict) -> str:
    lines = [
        f"# Image size and rebuild time: {report['worker']}",
        "",
        f"Measured {report['date']} by `bench/image-size-and-rebuild.py` in one run on: "
        + ", ".join(f"{k} {v}" for k, v in report["machine"].items() if v is not None)
        + ".",
        "",
        "Cold = `docker build --no-cache`; warm = rebuild after one new line in the worker's "
        "`src/index.ts`. Size = `docker image inspect` size (uncompressed, base included).",
        "",
        "| Dockerfile | runtime image | over the base | cold build | warm rebuild "
        "| install cached when warm | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in report["variants"]:
        warm = v["warm"]
        smoke = v["smoke"]
        runs = "-"
        if smoke:
            runs = (
                f"marker {'yes' if smoke['worker_ready'] else 'NO'}, "
                f"`docker stop` exit {smoke['stop_exit_code']} in {smoke['stop_seconds']} s, "
                f"WORKER_STOPPED {'yes' if smoke['worker_stopped_line'] else 'no'}"
            )
        lines.append(
            f"| {v['name']} | {mb(v['size_bytes'])} | {mb(v['size_over_base_bytes'])} "
            f"| {build_cell(BuildResult(**v['cold']) if v['cold'] else None)} "
            f"| {build_cell(BuildResult(**warm) if warm else None)} "
            f"| {'yes' if warm and warm['install_cached'] else 'no'} | {runs} |"
        )
    lines += ["", "Failures:", ""]
    failures = [
        (v["name"], phase, v[phase])
        for v in report["variants"]
        for phase in ("cold", "warm")
        if v[phase] and not v[phase]["ok"]
    ]
    lines += [
        f"- {name} ({phase}): `{result['failed_step']}`: {result['error']}"
        for name, phase, result in failures
    ] or ["- none"]
    lines += ["", "Variants:", ""]
    lines += [f"- **{v['name']}**: {v['description']}" for v in report["variants"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", default="session-worker")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = engine_env()
    with tempfile.TemporaryDirectory(prefix="dockerforge-bench-") as tmp:
        root, variants = prepare(Path(tmp), args.worker)
        measure(env, root, variants, args.worker)
    report = {
        "worker": args.worker,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(env),
        "variants": [asdict(v) for v in variants],
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "image-size-and-rebuild.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (args.output / "image-size-and-rebuild.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
