"""The import direction of the layout (DESIGN.md §2), read from the source with `ast` (nothing is imported).

- `pipelines/` never imports `agent`, Redis, a web server or LiveKit: the stages stay pure.
- Inside `agent/`, every package (or top-level module) has a layer; an import may point to its own layer or
  a lower one, never up. Within a layer, packages may use each other, but the package graph has no cycle.
- The entry points inside `messages/` and `calls/` (the workers, the LiveKit room) sit on the top layer with
  `http/` and `cli/`: DESIGN.md §2 has them use the composition root (`services`), which itself builds the
  queues and stores of their packages. A module named in `LAYERS` is its own unit.
- A new package must be given a layer here before it can import or be imported.
- Every import counts, also those under `if TYPE_CHECKING:` and inside functions: a type named in a
  signature is a dependency too, and none of them point upward today.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. The composition root (`services`) and the entry points over it sit on top.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("agent.settings", "agent.logs", "agent.metrics", "agent.egress"),  # foundation
    ("agent.whatsapp",),  # pure protocol: signature, payloads, Graph client, errors
    ("agent.storage",),  # Redis: key layout, sealing, conversation store, fences
    ("agent.tenants",),
    ("agent.analytics",),  # rollups written with each T0 record (privacy's log), read by the console
    ("agent.privacy", "agent.tools", "agent.engines"),
    ("agent.messages", "agent.calls"),
    ("agent.services",),
    (
        "agent.http",
        "agent.cli",
        "agent.console",
        "agent.messages.worker",
        "agent.calls.worker",
        "agent.calls.room",
    ),
)
PURE_FORBIDDEN = ("agent", "redis", "fastapi", "starlette", "uvicorn", "livekit")


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _submodule(root: Path, package: str, name: str) -> str:
    path = root.joinpath(*package.split("."), name)
    return f"{package}.{name}" if path.with_suffix(".py").is_file() or path.is_dir() else package


def imports(root: Path, package: str) -> list[Import]:
    """Every import in `root/package/**.py`, relative ones resolved, submodules named by `from … import`."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        module = _module_name(path, root)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found += [Import(module, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                # `from agent.messages import worker` imports the module `agent.messages.worker`
                targets = {_submodule(root, target, alias.name) for alias in node.names}
                found += [Import(module, t, node.lineno) for t in sorted(targets)]
    return found


def unit_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> str:
    """The layered unit a module belongs to: the longest name in `layers` it is or lies under, else its
    package (`agent.<package>`) or top-level module."""
    named = [unit for units in layers for unit in units if module == unit or module.startswith(unit + ".")]
    return max(named, key=len) if named else ".".join(module.split(".")[:2])


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one unit (Tarjan, small graphs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def violations(root: Path, layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """Every import that breaks the layout, as `module:line: why` (empty: the layout holds)."""
    problems = [
        f"{i.module}:{i.line}: pipelines imports {i.target}"
        for i in imports(root, "pipelines")
        if i.target.split(".")[0] in PURE_FORBIDDEN
    ]
    layer = {unit: n for n, units in enumerate(layers) for unit in units}
    edges: dict[str, set[str]] = {}
    for i in imports(root, "agent"):
        if i.module == "agent" or not (i.target == "agent" or i.target.startswith("agent.")):
            continue
        source, target = unit_of(i.module, layers), unit_of(i.target, layers)
        if source == target:
            continue
        unplaced = [unit for unit in (source, target) if unit not in layer]
        if unplaced:
            problems.append(
                f"{i.module}:{i.line}: {', '.join(unplaced)} has no layer in tests/test_layout.py"
            )
            continue
        edges.setdefault(source, set()).add(target)
        if layer[target] > layer[source]:
            problems.append(f"{i.module}:{i.line}: imports {i.target} from a higher layer")
    problems += [f"import cycle between packages: {' <-> '.join(group)}" for group in _cycles(edges)]
    return problems


def test_the_layout_holds() -> None:
    assert violations(ROOT) == []


def test_every_package_of_agent_has_a_layer() -> None:
    layered = {unit for units in LAYERS for unit in units}
    units = {
        unit_of(_module_name(p, ROOT)) for p in (ROOT / "agent").rglob("*.py") if p.parent != ROOT / "agent"
    } | {f"agent.{p.stem}" for p in (ROOT / "agent").glob("*.py") if p.stem != "__init__"}
    assert units - layered == set()


# -- the checker itself, on tiny synthetic trees --------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"agent/__init__.py": "", "pipelines/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_checker_accepts_imports_that_point_down(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/storage/__init__.py": "",
            "agent/storage/keys.py": "from agent.settings import X\nimport pipelines.llm\n",
            "agent/settings.py": "import redis\n",
            "agent/http/app.py": "from agent.storage import keys\nfrom ..storage.keys import Y\n",
            "pipelines/llm.py": "import openai\nfrom pipelines import audio\n",
        },
    )
    assert violations(root) == []


def test_the_checker_finds_an_upward_import_also_a_relative_or_type_only_one(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/storage/__init__.py": "",
            "agent/storage/keys.py": "from agent.messages.queue import conversation_key\n",
            "agent/storage/leads.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..tenants.registry import Tenant\n",
            "agent/messages/queue.py": "",
            "agent/tenants/registry.py": "",
        },
    )
    assert violations(root) == [
        "agent.storage.keys:1: imports agent.messages.queue from a higher layer",
        "agent.storage.leads:3: imports agent.tenants.registry from a higher layer",
    ]


def test_the_checker_finds_what_pipelines_must_not_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pipelines/turn.py": "def f():\n    import redis.asyncio\n",
            "pipelines/speak.py": "from agent.settings import Settings\nfrom livekit import rtc\n",
        },
    )
    assert violations(root) == [
        "pipelines.speak:1: pipelines imports agent.settings",
        "pipelines.speak:2: pipelines imports livekit",
        "pipelines.turn:2: pipelines imports redis.asyncio",
    ]


def test_the_checker_puts_an_entry_point_module_above_its_own_package(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/messages/worker.py": "from agent.services import Services\n",
            "agent/services.py": "from agent.messages.queue import Queue\n",
            "agent/messages/queue.py": "from agent.messages import worker\n",
        },
    )
    assert violations(root) == [
        "agent.messages.queue:1: imports agent.messages.worker from a higher layer",
        "import cycle between packages: agent.messages <-> agent.messages.worker <-> agent.services",
    ]


def test_the_checker_finds_a_cycle_within_one_layer_and_an_unplaced_package(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "agent/privacy/gate.py": "from agent.tools import conversation\n",
            "agent/tools/conversation.py": "from agent.privacy.gate import Gate\n",
            "agent/billing/plan.py": "from agent.storage import keys\n",
            "agent/storage/keys.py": "",
        },
    )
    assert violations(root) == [
        "agent.billing.plan:1: agent.billing has no layer in tests/test_layout.py",
        "import cycle between packages: agent.privacy <-> agent.tools",
    ]
