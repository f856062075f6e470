"""Drafts, atomic publishing, rollback and the 409 of a lost race, on real folders, the real validator
(`leadclose prompts validate`'s) and the real hot-reload watcher."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.console.drafts import folder_checker, locate
from agent.tenants.drafts import (
    MAX_FILES,
    DraftError,
    TenantVersions,
    VersionConflictError,
    read_files,
)
from agent.tenants.files import MAX_KNOWLEDGE_BYTES
from agent.tenants.registry import TenantRegistry
from agent.tenants.reload import watch_tenants
from tests.agent.stack import eventually
from tests.agent.stack import settings as stack_settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

NEW_FACT = "Battery backup: 10 kWh lithium, 8 years warranty."


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "prompts", tmp_path / "prompts", symlinks=True)
    return tmp_path / "prompts"


@pytest.fixture
def check(prompts: Path) -> Callable[[Path], None]:
    """The validator of `prompts validate`, raising on the first problem (what publish refuses)."""
    tenants = TenantRegistry.load(prompts)
    validate = folder_checker(stack_settings("redis://127.0.0.1:1/0", prompts), tenants, environ={})

    def refuse(folder: Path) -> None:
        problems = [p for p in validate(folder)[0] if "is not set" not in p]  # no secrets in this test
        if problems:
            raise ValueError(problems)

    return refuse


def _add_fact(versions: TenantVersions) -> None:
    knowledge = versions.draft("default").files["knowledge.md"]
    versions.write("default", "knowledge.md", knowledge + "\n" + NEW_FACT + "\n")


def test_a_draft_is_kept_apart_from_the_live_folder_and_survives_a_restart(prompts: Path) -> None:
    versions = TenantVersions(prompts)
    before = (prompts / "default" / "knowledge.md").read_text()
    _add_fact(versions)
    assert (prompts / "default" / "knowledge.md").read_text() == before
    again = TenantVersions(prompts).draft("default")  # a new process
    assert NEW_FACT in again.files["knowledge.md"]
    assert again.base == 1
    assert TenantRegistry.load(prompts).ids() == ["default", "gharkhoj-realty", "sunrise-clinic"]


def test_publish_swaps_the_live_folder_and_rollback_restores_it(
    prompts: Path, check: Callable[[Path], None]
) -> None:
    versions = TenantVersions(prompts)
    _add_fact(versions)
    done = versions.publish("default", base=1, check=check)
    assert (done.version, done.previous) == (2, 1)
    assert f"+{NEW_FACT}" in done.diff
    assert "b/knowledge.md" in done.diff
    assert (prompts / "default").is_symlink()
    assert versions.live("default") == 2
    assert NEW_FACT in TenantRegistry.load(prompts).get("default").turn.system_prompt
    assert not (prompts / ".drafts" / "default").exists()  # the draft became the version
    back = versions.rollback("default", base=2)
    assert (back.version, back.previous) == (1, 2)
    assert f"-{NEW_FACT}" in back.diff
    assert NEW_FACT not in TenantRegistry.load(prompts).get("default").turn.system_prompt
    assert versions.versions("default") == [1, 2]
    forward = versions.rollback("default", base=1, to=2)  # and forward again
    assert forward.version == 2
    assert versions.live("default") == 2


def test_a_draft_the_validator_refuses_changes_nothing(prompts: Path, check: Callable[[Path], None]) -> None:
    versions = TenantVersions(prompts)
    versions.write("default", "system.j2", "Hello {{ name }\n")
    with pytest.raises(ValueError, match="TemplateSyntaxError"):
        versions.publish("default", base=1, check=check)
    assert not (prompts / "default").is_symlink()
    assert versions.live("default") == 1
    assert not list((prompts / ".versions" / "default").iterdir())  # no staged leftovers
    assert "Hello" in versions.draft("default").files["system.j2"]  # the draft is still there to fix


def test_two_owners_publishing_at_once_one_wins_the_other_gets_a_conflict(
    prompts: Path, check: Callable[[Path], None]
) -> None:
    versions = TenantVersions(prompts)
    _add_fact(versions)
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def owner() -> None:
        start.wait()
        try:
            versions.publish("default", base=1, check=check)
            outcomes.append("published")
        except VersionConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=owner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "published"]
    assert versions.versions("default") == [1, 2]
    assert versions.live("default") == 2
    with pytest.raises(VersionConflictError):
        versions.rollback("default", base=1)  # a stale page cannot roll back either


@pytest.mark.parametrize(
    "name", ["../evil.md", "/etc/passwd", "a/b.md", ".hidden.md", "run.py", "x.yaml", "TENANT.yaml", ""]
)
def test_only_plain_allowed_file_names_are_written(prompts: Path, name: str) -> None:
    with pytest.raises(DraftError):
        TenantVersions(prompts).write("default", name, "text")
    assert not (prompts.parent / "evil.md").exists()


def test_sizes_and_counts_are_capped(prompts: Path) -> None:
    versions = TenantVersions(prompts)
    with pytest.raises(DraftError, match="larger than 128 KiB"):
        versions.write("default", "knowledge.md", "x" * (MAX_KNOWLEDGE_BYTES + 1))
    with pytest.raises(DraftError, match="larger than 32 KiB"):
        versions.write("default", "system.j2", "é" * (16 * 1024 + 1))  # bytes count, not characters
    with pytest.raises(DraftError, match="NUL"):
        versions.write("default", "knowledge.md", "a\0b")
    for i in range(MAX_FILES - len(versions.draft("default").files)):
        versions.write("default", f"extra{i}.md", "x")
    with pytest.raises(DraftError, match="at most"):
        versions.write("default", "one-more.md", "x")
    with pytest.raises(DraftError, match="cannot be removed"):
        versions.remove("default", "tenant.yaml")


def test_a_link_planted_in_the_draft_is_replaced_never_followed(prompts: Path, tmp_path: Path) -> None:
    versions = TenantVersions(prompts)
    outside = tmp_path / "outside.md"
    outside.write_text("untouched")
    draft = versions.draft("default")
    (draft.folder / "knowledge.md").unlink()
    os.symlink(outside, draft.folder / "knowledge.md")
    assert "knowledge.md" not in versions.draft("default").files  # a link is not read either
    versions.write("default", "knowledge.md", "new")
    assert outside.read_text() == "untouched"
    assert not (draft.folder / "knowledge.md").is_symlink()


def test_links_in_the_live_folder_do_not_reach_the_draft(prompts: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.md").write_text("LEADCLOSE_MASTER_KEY=xyz")
    os.symlink(tmp_path / "secret.md", prompts / "default" / "notes.md")
    assert "notes.md" not in read_files(prompts / "default")
    assert "notes.md" not in TenantVersions(prompts).draft("default").files


@pytest.mark.parametrize(
    ("yaml_tail", "expected"),
    [
        ("access_token_env: LEADCLOSE_MASTER_KEY\n", "access_token_env"),
        ("access_token_env: LEADCLOSE_TENANT_GHARKHOJ_REALTY__ACCESS_TOKEN\n", "access_token_env"),
        ("knowledge: ../gharkhoj-realty/knowledge.md\n", "knowledge"),
        ("id: sunrise-clinic\n", "id"),
        ('a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
         "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
         "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "aliases are expanded"),
    ],
)  # fmt: skip
def test_hostile_tenant_yaml_is_refused_by_the_loaders_rules(
    prompts: Path, check: Callable[[Path], None], yaml_tail: str, expected: str
) -> None:
    versions = TenantVersions(prompts)
    versions.write("default", "tenant.yaml", versions.draft("default").files["tenant.yaml"] + yaml_tail)
    with pytest.raises(ValueError, match=expected):
        versions.publish("default", base=1, check=check)
    assert versions.live("default") == 1


def test_problems_are_located_at_their_file_and_line(prompts: Path) -> None:
    versions = TenantVersions(prompts)
    draft = versions.write("default", "system.j2", "You are {{ name }}.\n\nAbout: {{ business.sells }\n")
    validate = folder_checker(stack_settings("redis://127.0.0.1:1/0", prompts), TenantRegistry.load(prompts))
    located = [p for problem in validate(draft.folder)[0] for p in locate(problem, draft.folder)]
    assert located[0]["file"] == "system.j2"
    assert located[0]["line"] == 3
    assert "TemplateSyntaxError" in located[0]["message"]
    assert str(prompts) not in str(located)
    yaml_text = draft.files["tenant.yaml"].replace("language: en\n", "language: en\ntone: [\n")
    draft = versions.write("default", "tenant.yaml", yaml_text)
    located = [p for problem in validate(draft.folder)[0] for p in locate(problem, draft.folder)]
    assert located[0]["file"] == "tenant.yaml"
    assert isinstance(located[0]["line"], int)


async def test_the_hot_reload_watcher_notices_a_publish_and_a_rollback(
    prompts: Path, check: Callable[[Path], None]
) -> None:
    tenants = TenantRegistry.load(prompts)
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_tenants(tenants, stop, every_s=0.02))
    versions = TenantVersions(prompts)
    try:
        _add_fact(versions)
        await asyncio.to_thread(versions.publish, "default", base=1, check=check)
        await eventually(lambda: NEW_FACT in tenants.get("default").turn.system_prompt, 10)
        await asyncio.to_thread(versions.rollback, "default", base=2)
        await eventually(lambda: NEW_FACT not in tenants.get("default").turn.system_prompt, 10)
    finally:
        stop.set()
        await watcher


def test_readers_never_miss_the_folder_while_versions_swap(
    prompts: Path, check: Callable[[Path], None]
) -> None:
    """The first publish (a plain folder exchanged with the link) and later ones: a reader opening the live
    tenant.yaml in a loop always finds a complete folder."""
    versions = TenantVersions(prompts)
    done = threading.Event()
    reads, misses = [0], [0]

    def reader() -> None:
        while not done.is_set():
            try:
                (prompts / "default" / "knowledge.md").read_text()
                (prompts / "default" / "tenant.yaml").read_text()
                reads[0] += 1
            except OSError:
                misses[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for base in range(1, 6):
            _add_fact(versions)
            versions.publish("default", base=base, check=check)
    finally:
        done.set()
        thread.join()
    assert versions.live("default") == 6
    assert reads[0] > 0
    assert misses[0] == 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.sampled_from("abz09._-/\\\0é~ "), max_size=40))
def test_any_name_is_refused_or_written_inside_the_draft(prompts: Path, name: str) -> None:
    versions = TenantVersions(prompts)
    draft = versions.draft("default")
    try:
        versions.write("default", name, "text")
    except DraftError:
        return
    written = draft.folder / name
    assert written.resolve().parent == draft.folder.resolve()
    assert written.read_text() == "text"


def test_a_draft_of_an_older_version_cannot_undo_what_went_live_since(
    prompts: Path, check: Callable[[Path], None]
) -> None:
    versions = TenantVersions(prompts)
    _add_fact(versions)
    versions.publish("default", base=1, check=check)
    versions.write("default", "notes.md", "started on version 2")
    versions.rollback("default", base=2)
    with pytest.raises(VersionConflictError, match="discard"):
        versions.publish("default", base=1, check=check)  # the live base, but the draft is of version 2
    versions.discard("default")
    assert versions.draft("default").base == 1
