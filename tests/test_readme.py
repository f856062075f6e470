"""README stays a page a newcomer reads: short, and its settings table names every `LEADCLOSE_*` variable the
code reads (each settings field under its env prefix, and every name the code spells out) and nothing else."""

from __future__ import annotations

import re

from agent.settings import Settings
from tests.conftest import ROOT

README = ROOT / "README.md"
MAX_LINES = 160
NAME = re.compile(r"LEADCLOSE_[A-Z0-9_]*[A-Z0-9]_*")
TENANT_PREFIX = "LEADCLOSE_TENANT_<ID>__"
# Where the code reads the environment: the packages, the benchmarks and scripts, the test configuration
# (the corpus location), and the files that build the image and the environment.
SOURCES = [
    *(ROOT / "agent").rglob("*.py"),
    *(ROOT / "pipelines").rglob("*.py"),
    *(ROOT / "bench").rglob("*.py"),
    *(ROOT / "scripts").rglob("*"),
    ROOT / "tests" / "conftest.py",
    ROOT / "run",
    ROOT / "Dockerfile",
]


def _normalized(name: str) -> str:
    """A tenant's own variable (`LEADCLOSE_TENANT_ACME__ACCESS_TOKEN`) is documented by its prefix."""
    return TENANT_PREFIX if name.startswith("LEADCLOSE_TENANT_") else name


def _read_in_code() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    names = {f"{prefix}{field.upper()}" for field in Settings.model_fields}
    for path in SOURCES:
        if path.is_file():
            names |= {_normalized(n) for n in NAME.findall(path.read_text(errors="replace"))}
    return names


def _settings_table() -> str:
    text = README.read_text()
    section = text[text.index("\n## Settings\n") :]
    section = section[: section.index("\n## ", 1)]
    return "\n".join(line for line in section.splitlines() if line.startswith("| `LEADCLOSE_"))


def test_every_leadclose_variable_the_code_reads_is_in_the_settings_table() -> None:
    table = _settings_table()
    missing = sorted(n for n in _read_in_code() if f"`{n}`" not in table)
    assert missing == [], f"add these to README's settings table: {missing}"


def test_the_settings_table_names_nothing_the_code_does_not_read() -> None:
    documented = set(re.findall(r"`(LEADCLOSE_[A-Z0-9_<>]+)`", _settings_table()))
    stale = sorted(documented - _read_in_code())
    assert stale == [], f"README's settings table names variables nothing reads: {stale}"


def test_the_readme_stays_short_and_keeps_the_two_commands() -> None:
    text = README.read_text()
    assert text.count("\n") <= MAX_LINES
    assert "./run demo " in text
    assert "./run test " in text
