"""Where the bundled templates are, installed or not.

In a wheel they ship as ``dockerforge/templates``; in a source checkout (and an editable
install) they are the repository's top-level ``templates/`` folder.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dockerforge.errors import UserError


@cache
def bundled_templates() -> Path:
    package = Path(__file__).resolve().parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "Dockerfile.j2").is_file():
            return candidate
    raise UserError(f"dockerforge is installed without its templates (looked in {package})")
