"""``dockerforge rules``: the catalogue, or one rule explained."""

from __future__ import annotations

import textwrap

from dockerforge.rules import RULES, rule


def listing() -> str:
    width = max(len(r.severity) for r in RULES)
    lines = []
    for current in RULES:
        fixed = "fix" if current.fix.automatic else "   "
        lines.append(f"{current.code}  {current.severity:<{width}}  {fixed}  {current.title}")
    lines.append("")
    lines.append("`dockerforge rules DF1xx` explains one; fix = `dockerforge fix` repairs it.")
    return "\n".join(lines) + "\n"


def explain(code: str) -> str:
    current = rule(code)
    fixable = (
        f"yes, {current.fix.safety}: {current.fix.how}"
        if current.fix.automatic
        else f"no; by hand: {current.fix.how}"
    )
    parts = [
        f"{current.code}: {current.title}",
        f"severity: {current.severity}",
        f"fixed by `dockerforge fix`: {fixable}",
        "",
        "Why it matters:",
        textwrap.fill(current.why, width=88, initial_indent="  ", subsequent_indent="  "),
        "",
        "Bad:",
        textwrap.indent(current.bad, "  "),
        "",
        "Good:",
        textwrap.indent(current.good, "  "),
        "",
        f"Suppress one finding with a comment on the line before the instruction:\n"
        f"  # dockerforge: ignore={current.code} <reason>",
    ]
    return "\n".join(parts) + "\n"
