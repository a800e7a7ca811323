#!/usr/bin/env python3
"""The import graph between src/'s top-level modules, and any cycle in it.

Every `crate::<module>` path counts, in a `use` line or inline; a directory module (`settings/`,
`provider/`, `sim/`, `commands/`) is one node, and `main.rs` reaches the library as `cloudstart::`.
An edge used only inside a file's `#[cfg(test)] mod tests` is marked `(tests)`; it still counts
for cycles. Prints one line per module and exits 1 if any modules form a cycle.

    python3 scripts/module-graph.py [SRC_DIR]
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(?:crate|cloudstart)::(\w+)")
GROUP = re.compile(r"\b(?:crate|cloudstart)::\{([^}]*)\}")
TESTS = re.compile(r"^#\[cfg\(test\)\]\s*\nmod tests\b", re.M)


def module_of(path: Path, src: Path) -> str:
    parts = path.relative_to(src).parts
    return parts[0].removesuffix(".rs")


def names(text: str) -> set[str]:
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    found = set(PATH.findall(code))
    for group in GROUP.findall(code):
        found.update(re.findall(r"(?:^|,)\s*(\w+)", group))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    modules = {module_of(p, src) for p in src.rglob("*.rs")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    in_code: dict[str, set[str]] = {m: set() for m in modules}
    for path in sorted(src.rglob("*.rs")):
        module = module_of(path, src)
        text = path.read_text()
        split = TESTS.search(text)
        code, tests = (text[: split.start()], text[split.start() :]) if split else (text, "")
        for target in names(code) & modules - {module}:
            graph[module].add(target)
            in_code[module].add(target)
        for target in names(tests) & modules - {module}:
            graph[module].add(target)
    for module in sorted(m for m in modules if m != "lib"):
        shown = [t if t in in_code[module] else f"{t} (tests)" for t in sorted(graph[module])]
        print(f"{module:<12} -> {', '.join(shown) or '-'}")
    found = cycles(graph)
    for component in found:
        print(f"cycle: {' <-> '.join(component)}")
    if not found:
        print("no cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
