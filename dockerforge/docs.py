"""Reference text generated from the declarations, so the README cannot fall behind them.

`python scripts/update-readme.py` writes these into the README's generated blocks; a test
fails when a block differs from what these functions produce.
"""

from __future__ import annotations

from dockerforge.schema import IMAGE, ROOT, SERVICE, WORKSPACE, Field, Section


def _type(field: Field) -> str:
    if field.choices:
        return " \\| ".join(f"`{c}`" for c in field.choices)
    return {"int": "integer", "list[str]": "list of strings", "mapping": "mapping"}.get(
        field.type, "string"
    )


def _section(section: Section, prefix: str) -> list[str]:
    lines = [
        f"**{prefix or 'Top level'}**: {section.doc}",
        "",
        "| key | type | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for field in section.fields:
        key = f"`{prefix}.{field.key}`" if prefix else f"`{field.key}`"
        default = field.default or "required"
        lines.append(f"| {key} | {_type(field)} | {default} | {field.doc} |")
    return [*lines, ""]


def manifest_reference() -> str:
    parts = [
        *_section(ROOT, ""),
        *_section(WORKSPACE, "workspace"),
        *_section(IMAGE, "image"),
        *_section(SERVICE, "services.NAME"),
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


def rules_table() -> str:
    from dockerforge.rules import markdown_table

    return markdown_table()


# Generated README blocks: name -> function producing the block's content.
BLOCKS = {"manifest-reference": manifest_reference, "rules": rules_table}
