"""The CI rule of the e2e conftest, checked without an engine: with DOCKERFORGE_E2E_REQUIRED=1 a
skipped e2e test (or none run at all) fails the pytest session; without it, a skip is a skip.

Not marked e2e: it runs pytest on a throwaway project that holds a copy of the e2e conftest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

SKIPPING = """
import pytest

@pytest.mark.e2e
def test_build():
    pytest.skip("no engine here")

def test_unit():
    pass
"""
PASSING = """
import pytest

@pytest.mark.e2e
def test_build():
    pass
"""


def run_pytest(tmp_path: Path, tests: str, required: bool, *args: str):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    e2e: real builds\n")
    env = {k: v for k, v in os.environ.items() if k != "DOCKERFORGE_E2E_REQUIRED"}
    if required:
        env["DOCKERFORGE_E2E_REQUIRED"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("tests", "required", "args", "exit_code"),
    [
        (SKIPPING, False, (), 0),
        (SKIPPING, True, (), 1),
        (PASSING, True, (), 0),
        (PASSING, True, ("-m", "not e2e"), 1),
        (PASSING, False, ("-m", "not e2e"), 5),  # pytest's own "no tests ran"
    ],
    ids=["skip-allowed", "skip-fails-ci", "ran-passes-ci", "deselected-fails-ci", "deselected"],
)
def test_required_mode(tmp_path, tests, required, args, exit_code):
    result = run_pytest(tmp_path, tests, required, *args)
    output = result.stdout + result.stderr
    assert result.returncode == exit_code, output
    if exit_code == 1:
        assert "DOCKERFORGE_E2E_REQUIRED=1: the real-build suite must run" in output
    if tests is SKIPPING and required:
        assert "SKIPPED test_sample.py::test_build: no engine here" in output
