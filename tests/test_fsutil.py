"""Atomic writes: content, mode, line endings and byte order mark kept; nothing outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockerforge.errors import UserError
from dockerforge.fsutil import write_atomic, write_files


def test_write_keeps_bom_crlf_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "dockerforge.yaml"
    path.write_bytes(b"\xef\xbb\xbfold: 1\r\n")
    path.chmod(0o640)
    assert write_atomic(tmp_path, "dockerforge.yaml", "new: 2\n") is True
    assert path.read_bytes() == b"\xef\xbb\xbfnew: 2\r\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert write_atomic(tmp_path, "dockerforge.yaml", "new: 2\n") is False  # idempotent
    assert [p.name for p in tmp_path.iterdir()] == ["dockerforge.yaml"]  # no temp file left


def test_new_file_gets_default_mode_and_folders(tmp_path: Path) -> None:
    assert write_atomic(tmp_path, "services/api/Dockerfile", "FROM node\n") is True
    path = tmp_path / "services" / "api" / "Dockerfile"
    assert path.read_text() == "FROM node\n"
    assert path.stat().st_mode & 0o777 == 0o644


def test_batch_checks_every_path_before_writing(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "escape").symlink_to(outside)
    with pytest.raises(UserError, match="resolves outside the repository"):
        write_files(repo, [("first.txt", "a\n"), ("escape/second.txt", "b\n")])
    assert not (repo / "first.txt").exists()
    assert list(outside.iterdir()) == []


def test_dotdot_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        write_atomic(tmp_path, "../elsewhere.txt", "x\n")
