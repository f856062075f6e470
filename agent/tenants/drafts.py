"""Drafts and published versions of a tenant folder, written by the staff console.

Layout under the prompts directory (the registry's `*/tenant.yaml` glob sees only the live link):

    prompts/<t>                  → a relative symlink to `.versions/<t>/<N>/<t>` (the live version N)
    prompts/.versions/<t>/<N>/<t>/  one published version (the inner folder carries the tenant id as its name,
                                    so the loader validates it as that tenant)
    prompts/.drafts/<t>/            the draft: a copy of the live files, edited file by file
    prompts/.drafts/<t>.base        the version the draft started from

A folder that was never published (a plain directory) is version 1; its first publish exchanges it with the
link in one `renameat2(RENAME_EXCHANGE)` and then moves it to `.versions/<t>/1/<t>` (where the kernel lacks
that call, the folder is moved first and is briefly absent: the hot reload keeps serving what it had). Every
later publish or rollback is one `rename(2)` of a symlink: a reader resolves the old version or the new one,
never a mix. Publish and rollback take an exclusive `flock` per tenant and
compare the live version with the one the writer started from: the second of two owners gets
`VersionConflictError`, nothing half-written.

What the console writes is untrusted input: only plain file names of the allowed kinds, each under its
cap, at most `MAX_FILES`; files are written to a temporary name and renamed (a link planted at the name is
replaced, never followed); a version is validated by the caller's `check` (the loader's own rules: YAML
aliases, env-name prefixes, files inside the folder, the sandboxed template) before it can go live.
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import errno
import fcntl
import os
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.tenants.files import (
    MAX_KNOWLEDGE_BYTES,
    MAX_TEMPLATE_BYTES,
    MAX_TENANT_YAML_BYTES,
    check_tenant_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

TENANT_FILE = "tenant.yaml"
VERSIONS = ".versions"
DRAFTS = ".drafts"
MAX_FILES = 16
KEEP_VERSIONS = 10  # older published versions are pruned (rollback reaches these)
MAX_DIFF_CHARS = 32 * 1024  # an audit record carries at most this much of a publish's diff
_FILE_NAME = re.compile(r"^(?:tenant\.yaml|[a-z0-9][a-z0-9_-]{0,62}\.(?:j2|md|txt))$")
_CAPS = {".yaml": MAX_TENANT_YAML_BYTES, ".j2": MAX_TEMPLATE_BYTES, ".md": MAX_KNOWLEDGE_BYTES}


class DraftError(Exception):
    """A write the console refuses (a name, a size, a count); the message never holds the content."""


class VersionConflictError(Exception):
    """The live version moved since the writer looked: another owner published or rolled back first."""


def file_cap(name: str) -> int:
    return _CAPS.get(Path(name).suffix, MAX_KNOWLEDGE_BYTES)


def check_file(name: str, text: str) -> None:
    """An allowed plain file name of the folder and a text under its cap."""
    if not _FILE_NAME.fullmatch(name):
        raise DraftError(
            "file names are tenant.yaml or a-z, 0-9, '_', '-' ending in .j2, .md or .txt (no folders)"
        )
    if len(text.encode("utf-8", "surrogatepass")) > file_cap(name):
        raise DraftError(f"{name} is larger than {file_cap(name) // 1024} KiB")
    if "\0" in text:
        raise DraftError(f"{name} contains a NUL character")


@dataclass(frozen=True, slots=True)
class Draft:
    tenant: str
    base: int  # the live version it started from
    files: dict[str, str]
    folder: Path  # validate here: its name is the tenant id


@dataclass(frozen=True, slots=True)
class Published:
    tenant: str
    version: int
    previous: int
    diff: str  # unified diff of the folder's text files, capped at MAX_DIFF_CHARS


class TenantVersions:
    """Drafts, publishing and rollback of the tenant folders under `prompts_dir` (blocking file I/O: call
    from a thread)."""

    def __init__(self, prompts_dir: Path) -> None:
        self._dir = prompts_dir

    # -- reading -------------------------------------------------------------------------------------------

    def live(self, tenant: str) -> int:
        """The live version: the N of the link's target, or 1 for a folder never published."""
        check_tenant_id(tenant)
        path = self._dir / tenant
        if not path.is_symlink():
            if not path.is_dir():
                raise DraftError("no such tenant folder")
            return 1
        target = Path(os.readlink(path))
        if target.parts[:2] != (VERSIONS, tenant) or not target.parts[2].isdigit():
            raise DraftError("the tenant folder is a link the console did not write")
        return int(target.parts[2])

    def versions(self, tenant: str) -> list[int]:
        """Published versions still kept, oldest first (the plain folder before a first publish: [1])."""
        root = self._dir / VERSIONS / tenant
        kept = sorted(int(p.name) for p in root.iterdir() if p.name.isdigit()) if root.is_dir() else []
        return kept or [self.live(tenant)]

    def draft(self, tenant: str) -> Draft:
        """The tenant's draft, started from the live folder on first use."""
        with self._locked(tenant):
            return self._draft(tenant)

    def _draft(self, tenant: str) -> Draft:
        base = self.live(tenant)
        folder = self._dir / DRAFTS / tenant
        marker = self._dir / DRAFTS / f"{tenant}.base"
        if not folder.is_dir() or not marker.is_file():
            self._discard(tenant)
            folder.mkdir(parents=True)
            for name, text in read_files(self._dir / tenant).items():
                _write(folder, name, text)
            _write(marker.parent, marker.name, str(base))
        else:
            base = int(marker.read_text().strip() or base)
        return Draft(tenant, base, read_files(folder), folder)

    # -- the draft (every change under the tenant's lock: a write never slips between publish's read of the
    # draft and its removal) -------------------------------------------------------------------------------

    def write(self, tenant: str, name: str, text: str) -> Draft:
        check_file(name, text)
        with self._locked(tenant):
            draft = self._draft(tenant)
            if name not in draft.files and len(draft.files) >= MAX_FILES:
                raise DraftError(f"a tenant folder holds at most {MAX_FILES} files")
            _write(draft.folder, name, text)
            return self._draft(tenant)

    def remove(self, tenant: str, name: str) -> Draft:
        check_file(name, "")
        if name == TENANT_FILE:
            raise DraftError("tenant.yaml cannot be removed")
        with self._locked(tenant):
            draft = self._draft(tenant)
            with contextlib.suppress(FileNotFoundError):
                (draft.folder / name).unlink()
            return self._draft(tenant)

    def discard(self, tenant: str) -> None:
        with self._locked(tenant):
            self._discard(tenant)

    def _discard(self, tenant: str) -> None:
        shutil.rmtree(self._dir / DRAFTS / tenant, ignore_errors=True)
        (self._dir / DRAFTS / f"{tenant}.base").unlink(missing_ok=True)

    # -- going live ----------------------------------------------------------------------------------------

    def publish(self, tenant: str, *, base: int, check: Callable[[Path], None]) -> Published:
        """The draft as the new live version, if the live one is still `base`; `check(folder)` raises to
        refuse it (it sees the staged folder, named after the tenant). The draft is gone afterwards."""
        with self._locked(tenant):
            previous = self._expect(tenant, base)
            draft = self._draft(tenant)
            if draft.base != previous:  # a draft of an older version would undo what was published since
                raise VersionConflictError(
                    f"the draft was started from version {draft.base}, the live one is {previous}: discard"
                    " the draft to start again from the live version"
                )
            old = read_files(self._dir / tenant)
            version = max(self.versions(tenant)) + 1
            staged = self._dir / VERSIONS / tenant / f".{version}.staging"
            shutil.rmtree(staged, ignore_errors=True)
            folder = staged / tenant
            folder.mkdir(parents=True)
            for name, text in draft.files.items():
                check_file(name, text)
                _write(folder, name, text)
            try:
                check(folder)
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            staged.rename(self._dir / VERSIONS / tenant / str(version))
            self._point(tenant, version)
            self._discard(tenant)
            self._prune(tenant)
            return Published(tenant, version, previous, folder_diff(old, draft.files))

    def rollback(self, tenant: str, *, base: int, to: int | None = None) -> Published:
        """Back to version `to` (default: the one before the live one), if the live one is still `base`."""
        with self._locked(tenant):
            previous = self._expect(tenant, base)
            older = [v for v in self.versions(tenant) if v < previous]
            target = to if to is not None else (older[-1] if older else None)
            if target is None or target == previous or target not in self.versions(tenant):
                raise DraftError("no such earlier version to roll back to")
            old = read_files(self._dir / tenant)
            self._point(tenant, target)
            return Published(tenant, target, previous, folder_diff(old, read_files(self._dir / tenant)))

    def _expect(self, tenant: str, base: int) -> int:
        live = self.live(tenant)
        if live != base:
            raise VersionConflictError(
                f"the live version is now {live}, not {base}: someone else changed it first; discard the"
                " draft to start again from the live version"
            )
        return live

    def _point(self, tenant: str, version: int) -> None:
        """Make `prompts/<t>` a link to `version`, by one rename (the first time: move the plain folder in)."""
        link = self._dir / tenant
        temp = self._dir / f".{tenant}.link"
        temp.unlink(missing_ok=True)
        temp.symlink_to(Path(VERSIONS, tenant, str(version), tenant))
        if link.is_symlink():
            temp.replace(link)
            return
        # Never published: the plain folder becomes version 1. Exchanged with the link in one step where
        # the kernel can (Linux renameat2), else moved away first (a brief absence the hot reload rides out).
        first = self._dir / VERSIONS / tenant / "1"
        first.mkdir(parents=True)
        if _exchange(temp, link):
            temp.rename(first / tenant)
        else:
            link.rename(first / tenant)
            temp.replace(link)

    def _prune(self, tenant: str) -> None:
        kept = self.versions(tenant)
        live = self.live(tenant)
        for version in kept[:-KEEP_VERSIONS]:
            if version != live:
                shutil.rmtree(self._dir / VERSIONS / tenant / str(version), ignore_errors=True)

    @contextlib.contextmanager
    def _locked(self, tenant: str) -> Iterator[None]:
        """One writer per tenant across processes on this host (flock is released if the process dies)."""
        check_tenant_id(tenant)
        root = self._dir / VERSIONS
        root.mkdir(exist_ok=True)
        fd = os.open(root / f"{tenant}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def read_files(folder: Path) -> dict[str, str]:
    """The folder's allowed text files (regular files only, links skipped, each under its cap)."""
    files: dict[str, str] = {}
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if not _FILE_NAME.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            if len(files) >= MAX_FILES:
                break
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = handle.read(file_cap(entry.name) + 1)
            if len(data) <= file_cap(entry.name):
                files[entry.name] = data.decode("utf-8", "replace")
    return files


def folder_diff(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """A unified diff of two folders' files (configuration text: business content, no personal data)."""
    lines: list[str] = []
    for name in sorted(set(old) | set(new)):
        lines.extend(
            difflib.unified_diff(
                old.get(name, "").splitlines(keepends=True),
                new.get(name, "").splitlines(keepends=True),
                f"a/{name}" if name in old else "/dev/null",
                f"b/{name}" if name in new else "/dev/null",
                n=1,
            )
        )
    diff = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n… ({len(diff) - MAX_DIFF_CHARS} more characters)\n"
    return diff


def _exchange(a: Path, b: Path) -> bool:
    """Swap two names atomically (`renameat2(RENAME_EXCHANGE)`); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd, exchange = -100, 2
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.ENOSYS, errno.EINVAL):  # no such call, or a file system without it
        return False
    raise OSError(ctypes.get_errno(), "renameat2 failed")


def _write(folder: Path, name: str, text: str) -> None:
    """Write to a fresh temporary name (O_EXCL: a planted link is never followed), then rename over."""
    temp = folder / f".{name}.tmp"
    temp.unlink(missing_ok=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    temp.replace(folder / name)
