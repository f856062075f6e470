"""A tenant folder read as untrusted input: its name, the files it names, its YAML and its secrets' names.

Businesses edit `prompts/<tenant>/` themselves, so everything here assumes a hostile author: the folder name
is the tenant id (a file cannot claim another), a named file must resolve inside the folder (no absolute
path, no `..`, no symlink out: checked after resolving), every file has a size cap, YAML aliases cannot
expand (billion laughs), and an environment variable a tenant names must carry that tenant's own prefix
`LEADCLOSE_TENANT_<ID>__` (so `LEADCLOSE_MASTER_KEY` or another tenant's token is out of reach).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# After the tenant's prefix: words joined by single underscores, so that the prefix of tenant `a` never
# reaches into the names of tenant `a-b` (`LEADCLOSE_TENANT_A__…` vs `LEADCLOSE_TENANT_A_B__…`) and a name
# cannot hide a second `__`.
_ENV_SUFFIX = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)*$")

MAX_TENANT_YAML_BYTES = 64 * 1024
MAX_TEMPLATE_BYTES = 32 * 1024
MAX_KNOWLEDGE_BYTES = 128 * 1024
MAX_YAML_NODES = 20_000  # after expanding aliases: a tenant.yaml has a few hundred
_MAX_STAMP_FILES = 256
_MAX_STAMP_BYTES = 1024 * 1024


class TenantFileError(Exception):
    """A tenant file that may not be read; the message is a reason, never the file's content."""


def check_tenant_id(name: str) -> None:
    if not TENANT_ID.fullmatch(name):
        raise TenantFileError(
            "the folder name is the tenant id: 2 to 63 of a-z, 0-9 and '-', starting with a letter or digit"
        )


def env_prefix(tenant_id: str) -> str:
    """`gharkhoj-realty` → `LEADCLOSE_TENANT_GHARKHOJ_REALTY__`."""
    return f"LEADCLOSE_TENANT_{tenant_id.upper().replace('-', '_')}__"


def env_name_problem(tenant_id: str, name: str) -> str | None:
    """Why `name` is not a variable this tenant may read, or None."""
    prefix = env_prefix(tenant_id)
    if not name.startswith(prefix) or not _ENV_SUFFIX.fullmatch(name.removeprefix(prefix)):
        return f"must be an environment variable of this tenant: {prefix}<NAME> (A-Z, 0-9, single _)"
    return None


def read_inside(folder: Path, name: str, *, max_bytes: int) -> str:
    """The text of `name`, a path relative to `folder` that resolves (symlinks followed) inside it."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name or not relative.parts:
        raise TenantFileError("must be a file name inside the tenant folder (no absolute path, no '..')")
    root = folder.resolve()
    try:
        target = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        raise TenantFileError("does not exist in the tenant folder") from None
    if not target.is_relative_to(root):
        raise TenantFileError("resolves outside the tenant folder (a symlink?)")
    try:
        # O_NOFOLLOW: the last component was resolved above, a link swapped in since is refused; O_NONBLOCK:
        # a FIFO named knowledge.md must not hang the loader.
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        raise TenantFileError("cannot be opened") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TenantFileError("is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TenantFileError(f"is larger than {max_bytes // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TenantFileError("is not UTF-8 text") from None


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, refusing documents whose aliases expand past `MAX_YAML_NODES` or refer to
    themselves: PyYAML shares an aliased node, but everything after it (validation, dumps) walks copies."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _count_nodes(root: yaml.Node) -> None:
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise TenantFileError("is not valid YAML: an alias refers to a node that contains it")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_YAML_NODES:
            raise TenantFileError(
                f"is not valid YAML: more than {MAX_YAML_NODES} values once aliases are expanded"
            )
        sizes[key] = total
        return total

    size(root)


def folder_stamp(folder: Path) -> str:
    """A digest of the folder's files: any edit changes it. Symlinks are stamped by their target's name and
    large or surplus files by size and time, so a link to `/dev/zero` or a huge file costs nothing here
    (loading refuses them)."""
    digest = hashlib.sha256()
    seen = 0
    for directory, dirs, files in os.walk(folder):  # does not descend into linked directories
        dirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            info = path.lstat()
            seen += 1
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"link:" + os.readlink(path).encode())
            elif seen > _MAX_STAMP_FILES or info.st_size > _MAX_STAMP_BYTES or not stat.S_ISREG(info.st_mode):
                digest.update(f"{info.st_size}:{info.st_mtime_ns}".encode())
            else:
                digest.update(path.read_bytes())
    return digest.hexdigest()
