"""The README's pictures and layout table are checked against the code, so they cannot drift:
the graph diagrams are what LangGraph draws of the compiled graphs, the system picture names
every node of the provisioning graph in order, and the layout table has a row for every
package and names only paths that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.provisioning.graph import build_batch_graph, build_provisioning_graph
from agents.title_agent.graph import build_title_agent

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCE_PACKAGES = (
    "core",
    "prompts",
    "pii",
    "vectorstore",
    "tools",
    "agents",
    "evals",
    "api",
    "bench",
)


def _section(heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has no '## {heading}' section"
    return match.group(1)


def _mermaid_block(name: str) -> str:
    match = re.search(
        rf"<!-- graph: {name} -->\n```mermaid\n(.*?)```\n<!-- /graph -->", README, re.S
    )
    assert match, f"README has no generated diagram of the {name} graph"
    return match.group(1)


def drawn(name: str) -> str:
    if name == "provisioning":
        graph = build_provisioning_graph(InMemorySaver()).get_graph()
    elif name == "provisioning_batch":
        graph = build_batch_graph().get_graph()
    else:
        graph = build_title_agent().get_graph()
    return graph.draw_mermaid()


@pytest.mark.parametrize("name", ["provisioning", "provisioning_batch", "title_agent"])
def test_the_graph_diagrams_are_what_langgraph_draws_of_the_compiled_graphs(name: str) -> None:
    assert _mermaid_block(name) == drawn(name), (
        f"the README diagram of the {name} graph is stale; replace the block with:\n" + drawn(name)
    )


def test_the_system_picture_names_every_provisioning_node_in_run_order() -> None:
    picture = re.search(r"\n```\n( HRIS .*?)```", README, re.S)
    assert picture, "README lost its system picture"
    nodes = [
        n for n in build_provisioning_graph(InMemorySaver()).get_graph().nodes
        if not n.startswith("__")
    ]  # fmt: skip
    positions = [picture.group(1).find(node) for node in nodes]
    missing = [node for node, at in zip(nodes, positions, strict=True) if at < 0]
    assert not missing, f"the system picture omits {missing}"
    assert positions == sorted(positions), f"the picture shows the nodes out of order: {nodes}"


def _layout_rows() -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", _section("Layout"), re.M)
    return dict(rows)


def _packages() -> list[str]:
    """Every source package and sub-package (a folder with ``__init__.py``), as ``a/b/``."""
    found = []
    for top in SOURCE_PACKAGES:
        found.append(f"{top}/")
        found += [
            f"{init.parent.relative_to(ROOT).as_posix()}/"
            for init in sorted((ROOT / top).glob("*/__init__.py"))
        ]
    return found


def _described(package: str, rows: dict[str, str]) -> bool:
    """A row of its own, or its parent's row names it (``core/`` naming `audit/`)."""
    parent, _, name = package.rstrip("/").rpartition("/")
    return package in rows or f"`{name}/`" in rows.get(f"{parent}/", "")


def test_the_layout_table_has_a_row_for_every_package_and_only_real_folders() -> None:
    rows = _layout_rows()
    missing = [package for package in _packages() if not _described(package, rows)]
    assert not missing, f"the README layout table has no row for {missing}"
    unreal = [path for path in rows if not (ROOT / path).exists()]
    assert not unreal, f"the layout table names folders that do not exist: {unreal}"


def test_every_module_the_layout_table_names_exists_in_its_folder() -> None:
    stale = []
    for folder, text in _layout_rows().items():
        for name in re.findall(r"`([\w/]+\.(?:py|yaml|json))`", text):
            if not (ROOT / folder / name).exists() and not (ROOT / name).exists():
                stale.append(f"{folder}{name}")
    assert not stale, f"the layout table names files that do not exist: {stale}"


def test_every_repository_path_the_readme_names_exists() -> None:
    """Paths in backticks that start at a top-level folder of this repository."""
    tops = (*SOURCE_PACKAGES, "tests", ".ci")
    named = set(re.findall(rf"`((?:{'|'.join(tops)})/[\w./-]*)`", README))
    stale = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert not stale, f"the README names paths that do not exist: {stale}"
