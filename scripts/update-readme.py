"""Rewrite the README's generated blocks (`<!-- begin:NAME -->` ... `<!-- end:NAME -->`).

python scripts/update-readme.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dockerforge.docs import BLOCKS  # noqa: E402
from dockerforge.fsutil import write_atomic  # noqa: E402


def fill(readme: str) -> str:
    for name, produce in BLOCKS.items():
        begin, end = f"<!-- begin:{name} -->\n", f"<!-- end:{name} -->"
        start = readme.index(begin) + len(begin)
        stop = readme.index(end, start)
        readme = readme[:start] + produce() + readme[stop:]
    return readme


def main() -> None:
    text = (REPO / "README.md").read_text()
    changed = write_atomic(REPO, "README.md", fill(text))
    print("README.md updated" if changed else "README.md was up to date")


if __name__ == "__main__":
    main()
