"""Shared test helpers: copies of the example repositories and a CLI runner."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "kodingcaravan"
MULTILIB = REPO / "tests" / "fixtures" / "multilib"
GOLDEN = REPO / "golden"

# The example's Dockerfiles that are in their audited, non-canonical state.
AUDITED_DRIFT = {
    "notification-service",
    "allocation-worker",
    "session-worker",
    "notification-worker",
    "purchase-worker",
    "cache-worker",
}


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("node_modules", "dist", "*.tsbuildinfo")
    )
    return target


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of examples/kodingcaravan that a test may change."""
    return copy_tree(EXAMPLE, tmp_path / "kodingcaravan")


@pytest.fixture
def multilib(tmp_path: Path) -> Path:
    return copy_tree(MULTILIB, tmp_path / "multilib")


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Result:
    """Run ``python -m dockerforge`` as a user would, in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "dockerforge", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content, to prove a command wrote nothing."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
