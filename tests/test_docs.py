"""The README's generated blocks equal what the declarations produce."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def test_readme_generated_blocks_are_current() -> None:
    spec = importlib.util.spec_from_file_location(
        "update_readme", REPO / "scripts" / "update-readme.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (REPO / "README.md").read_text()
    assert module.fill(readme) == readme, "run `python scripts/update-readme.py`"
