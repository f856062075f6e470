"""The multilingual Whisper base joined from its two PyPI parts, checked by sha256 (install time only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipelines import whisper_base
from pipelines.whisper_base import ModelAssemblyError, assemble, assembled

if TYPE_CHECKING:
    from pathlib import Path


def test_the_installed_parts_join_into_the_pinned_model(tmp_path: Path) -> None:
    folder = assemble(tmp_path / "base")
    assert assembled(folder) == folder
    assert (folder / "model.bin").stat().st_size == whisper_base.MODEL_BYTES
    assert {p.name for p in folder.iterdir()} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.txt", "ASSEMBLED"
    }  # fmt: skip
    assert assemble(folder) == folder  # idempotent: a second run finds it done


def test_parts_that_do_not_match_the_pin_leave_nothing_behind(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for part, name in ((first, "model.bin.part1"), (second, "model.bin.part2")):
        part.mkdir()
        (part / name).write_bytes(b"not the model" * 100)
    with pytest.raises(ModelAssemblyError, match="sha256"):
        assemble(tmp_path / "base", parts=(first, second))
    assert assembled(tmp_path / "base") is None
    assert [p.name for p in (tmp_path / "base").iterdir()] == []


def test_a_missing_part_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(ModelAssemblyError, match="cannot read a model part"):
        assemble(tmp_path / "base", parts=(tmp_path / "nowhere", tmp_path / "nowhere"))
    assert assembled(tmp_path / "base") is None
