"""The audit's rule catalogue: one module per family, each rule a small unit.

``RULES`` is the catalogue in code order; ``rule(code)`` finds one; ``markdown_table()``
renders the README's rules table from the rules themselves (``dockerforge rules --format
markdown`` prints it).
"""

from __future__ import annotations

from difflib import get_close_matches

from dockerforge.errors import UserError
from dockerforge.rules import env, health, image, layout, node, package_manager, start
from dockerforge.rules.base import Rule

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *package_manager.RULES,
            *image.RULES,
            *node.RULES,
            *health.RULES,
            *start.RULES,
            *layout.RULES,
            *env.RULES,
        ),
        key=lambda r: r.code,
    )
)


def rule(code: str) -> Rule:
    """The rule with ``code`` (case-insensitive), or a usage error that suggests one."""
    wanted = code.strip().upper()
    for candidate in RULES:
        if candidate.code == wanted:
            return candidate
    codes = [r.code for r in RULES]
    close = get_close_matches(wanted, codes, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f" (known: {codes[0]}-{codes[-1]})"
    raise UserError(f"unknown rule {code!r}{hint}")


def markdown_table() -> str:
    """The rules table of the README, one row per rule."""
    lines = ["| Code | Severity | Fixed by `dockerforge fix` | Rule |", "| --- | --- | --- | --- |"]
    for current in RULES:
        fixed = f"yes ({current.fix.safety})" if current.fix.automatic else "no"
        title = current.title.replace("|", "\\|")
        lines.append(f"| {current.code} | {current.severity} | {fixed} | {title} |")
    return "\n".join(lines) + "\n"
