"""Reading YAML with ruamel.yaml, keeping where every key and value came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from dockerforge.errors import Location, UserError

# A manifest is a few kilobytes; anything far larger is a mistake, not a manifest.
MAX_YAML_BYTES = 1_000_000


def read_text(path: Path, *, limit: int = MAX_YAML_BYTES) -> str:
    """Read a small UTF-8 text file (a BOM is dropped) or explain why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError("file not found", Location(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read file: {exc.strerror}", Location(path)) from None
    if len(data) > limit:
        raise UserError(f"file is larger than {limit} bytes", Location(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserError("file is not valid UTF-8 text", Location(path, line)) from None


def load_yaml(path: Path, text: str | None = None) -> Any:
    """Parse YAML in round-trip mode so every node keeps its line and column."""
    if text is None:
        text = read_text(path)
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        key = _duplicate_key_name(exc)
        first = exc.context_mark
        message = f"duplicate key {key!r}" if key else "duplicate key"
        if first is not None:
            message += f" (first defined on line {first.line + 1})"
        raise UserError(message, _mark_location(path, mark)) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise UserError(f"invalid YAML: {problem}", _mark_location(path, mark)) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. reader errors)
        raise UserError(f"invalid YAML: {exc}", Location(path)) from None


def _mark_location(path: Path, mark: Any) -> Location:
    if mark is None:
        return Location(path)
    return Location(path, mark.line + 1, mark.column + 1)


def _duplicate_key_name(exc: DuplicateKeyError) -> str | None:
    # ruamel words it as: found duplicate key "name" with value ...
    problem = exc.problem or ""
    start = problem.find('"')
    end = problem.find('"', start + 1)
    return problem[start + 1 : end] if 0 <= start < end else None


def key_location(path: Path, mapping: Any, key: Any) -> Location:
    """Where ``key`` is written inside ``mapping`` (or the mapping itself)."""
    if isinstance(mapping, CommentedMap):
        try:
            line, col = mapping.lc.key(key)
            return Location(path, line + 1, col + 1)
        except (KeyError, TypeError):
            pass
    return node_location(path, mapping)


def value_location(path: Path, mapping: Any, key: Any) -> Location:
    """Where the value of ``key`` is written inside ``mapping``."""
    if isinstance(mapping, CommentedMap):
        try:
            line, col = mapping.lc.value(key)
            return Location(path, line + 1, col + 1)
        except (KeyError, TypeError):
            pass
    return key_location(path, mapping, key)


def item_location(path: Path, seq: Any, index: int) -> Location:
    """Where item ``index`` of a sequence is written."""
    if isinstance(seq, CommentedSeq):
        try:
            line, col = seq.lc.item(index)
            return Location(path, line + 1, col + 1)
        except (KeyError, TypeError, IndexError):
            pass
    return node_location(path, seq)


def node_location(path: Path, node: Any) -> Location:
    """Where a mapping or sequence starts, when ruamel recorded it."""
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return Location(path, lc.line + 1, lc.col + 1)
    return Location(path)
