"""A wheel built from the repository works from an unrelated folder, templates included."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from dockerforge.manifest import load_manifest
from dockerforge.render import render_files
from tests.conftest import EXAMPLE, REPO


def test_wheel_renders_the_example_identically(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, REPO],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("dockerforge-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", wheel], check=True, cwd=tmp_path)

    unrelated = tmp_path / "somewhere-else"
    unrelated.mkdir()
    installed = subprocess.run(
        [python, "-c", "import dockerforge.resources as r; print(r.bundled_templates())"],
        check=True,
        cwd=unrelated,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert installed.startswith(str(env_dir)), installed  # not the source checkout's templates

    expected = {f.service: f.text for f in render_files(load_manifest(EXAMPLE))}
    for name in ("api-gateway", "allocation-worker", "session-worker"):
        out = subprocess.run(
            [env_dir / "bin" / "dockerforge", "render", "--stdout", name, "--repo", EXAMPLE],
            check=True,
            cwd=unrelated,
            capture_output=True,
            text=True,
        ).stdout
        assert out == expected[name]
