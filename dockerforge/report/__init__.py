"""Output formats of ``dockerforge audit``: text, markdown, json and sarif.

Each format is a function from a :class:`~dockerforge.audit.Report` to text; none of them
decides anything (what counts, what is suppressed) beyond how to show it.
"""

from __future__ import annotations

from collections.abc import Callable

from dockerforge.audit import Report

FORMATS = ("text", "markdown", "json", "sarif")


def render(report: Report, fmt: str) -> str:
    if fmt == "text":
        from dockerforge.report.text import render_text as function
    elif fmt == "markdown":
        from dockerforge.report.markdown import render_markdown as function
    elif fmt == "json":
        from dockerforge.report.jsonfmt import render_json as function
    elif fmt == "sarif":
        from dockerforge.report.sarif import render_sarif as function
    else:
        raise ValueError(f"unknown format {fmt!r}")
    chosen: Callable[[Report], str] = function
    return chosen(report)
