#!/usr/bin/env python3
"""The import graph between src/'s top-level modules: no cycles, and only the imports ARCHITECTURE.md allows.

Every `crate::<module>` path counts, in a `use` line or inline, as does every member of a
`crate::{...}` group and every `super::` path that climbs to the crate root; a directory module
(`settings/`, `provider/`, `sim/`, `commands/`) is one node, and `main.rs` reaches the library as
`cloudstart::`. An edge used only inside a file's `#[cfg(test)] mod tests` is marked `(tests)`; it
still counts for cycles. `lib.rs`, the root that declares every module, is no node.

The "may import" column of ARCHITECTURE.md's table "Modules: what each owns, and what it may import"
is the rule: backticked module names, "everything below" (every module in the rows below), or "—"
(nothing). A note in parentheses after a name is commentary, except that a note naming `tests`
("(tests)", "(in its unit tests)") allows that import only inside `#[cfg(test)] mod tests`. The
table must name every module in src/ and no other, so it stays true.

Prints one line per module, then, on stderr, every cycle, every forbidden import
(`forbidden import: engine -> commands (src/engine/client.rs:12)`) and every way the table and
src/ disagree; exits 1 if there is any.

    python3 scripts/module-graph.py [--root DIR]    (DIR holds src/ and ARCHITECTURE.md; default: this repository)
"""

import argparse
import re
import sys
from pathlib import Path

ROOTS = r"\b(?:crate|cloudstart)"
PATH = re.compile(ROOTS + r"::(\w+)")
GROUP = re.compile(ROOTS + r"::\{")
SUPER = re.compile(r"\b((?:super::)+)(?:(\w+)|(\{))")
TESTS = re.compile(r"^#\[cfg\(test\)\]\s*\nmod tests\b", re.M)
SECTION = "## Modules: what each owns, and what it may import"
ITEM = re.compile(r"`([^`]+)`(?:\s*\(([^)]*)\))?|(everything below)|(—|-)(?=\s*$)")


def module_of(path: Path, src: Path) -> str:
    parts = path.relative_to(src).parts
    return parts[0].removesuffix(".rs")


def depth_of(path: Path, src: Path) -> int:
    """How deep the file's own module sits below the crate root: lib.rs 0, sign.rs 1, engine/mod.rs 1,
    engine/wait.rs 2."""
    parts = path.relative_to(src).parts
    if len(parts) == 1 and parts[0] in ("lib.rs", "main.rs"):
        return 0
    return len(parts) - (1 if parts[-1] == "mod.rs" else 0)


def group_members(code: str, start: int) -> list[tuple[str, int]]:
    """The first name of each top-level item of the `{...}` group opening at `start`, with its offset."""
    found, depth, item_start = [], 0, start + 1
    for i in range(start, len(code)):
        char = code[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if (char == "," and depth == 1) or depth == 0:
            match = re.match(r"\s*(\w+)", code[item_start:i])
            if match and match.group(1) != "self":
                found.append((match.group(1), item_start + match.start(1)))
            item_start = i + 1
        if depth == 0:
            break
    return found


def names(code: str, depth: int) -> list[tuple[str, int]]:
    """Every top-level module `code` names, with the offset where it is named. `depth` is how deep
    the code sits below the crate root, for `super::` paths."""
    found = [(m.group(1), m.start(1)) for m in PATH.finditer(code)]
    for m in GROUP.finditer(code):
        found.extend(group_members(code, m.end() - 1))
    for m in SUPER.finditer(code):
        if m.group(1).count("super::") != depth:
            continue  # stays inside the file's own top-level module (or is not valid Rust)
        if m.group(2):
            found.append((m.group(2), m.start(2)))
        else:
            found.extend(group_members(code, m.start(3)))
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


def node_name(cell_name: str) -> str:
    """`main.rs` -> main, `commands/` -> commands."""
    return cell_name.strip().removesuffix("/").removesuffix(".rs")


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def read_table(architecture: Path) -> tuple[dict[str, dict[str, bool]], list[str]]:
    """ARCHITECTURE.md's rules: module -> {module it may import: only in tests}, and any problems
    reading them."""
    if not architecture.is_file():
        return {}, [f"{architecture}: missing"]
    lines = architecture.read_text().splitlines()
    try:
        start = lines.index(SECTION)
    except ValueError:
        return {}, [f"{architecture.name}: no section '{SECTION}'"]
    table: list[tuple[int, str]] = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append((number, line))
        elif table:
            break
    if len(table) < 3:
        return {}, [f"{architecture.name}:{start + 1}: no module table under '{SECTION}'"]
    header = [c.lower() for c in cells(table[0][1])]
    if "module" not in header or "may import" not in header:
        return {}, [f"{architecture.name}:{table[0][0]}: the table has no 'module' and 'may import' columns"]
    module_col, import_col = header.index("module"), header.index("may import")

    problems: list[str] = []
    rows: list[tuple[int, list[str], str]] = []
    for number, line in table[2:]:
        row = cells(line)
        if len(row) != len(header):
            problems.append(f"{architecture.name}:{number}: {len(row)} cells, the header has {len(header)}")
            continue
        modules = [node_name(n) for n in re.findall(r"`([^`]+)`", row[module_col])]
        if not modules:
            problems.append(f"{architecture.name}:{number}: no backticked module name in '{row[module_col]}'")
            continue
        rows.append((number, modules, row[import_col]))

    rules: dict[str, dict[str, bool]] = {}
    for position, (number, modules, cell) in enumerate(rows):
        allowed: dict[str, bool] = {}
        for item in ITEM.finditer(cell):
            if item.group(1):
                allowed[node_name(item.group(1))] = bool(re.search(r"\btests?\b", item.group(2) or ""))
            elif item.group(3):
                for _, below, _ in rows[position + 1 :]:
                    allowed.update({b: False for b in below})
        for rest in (r.strip() for r in ITEM.sub("", cell).split(",")):
            if rest:
                problems.append(f"{architecture.name}:{number}: cannot read '{rest}' in the may-import cell '{cell}'")
        for module in modules:
            if module in rules:
                problems.append(f"{architecture.name}:{number}: `{module}` has a second row")
            rules[module] = allowed
    return rules, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the directory holding src/ and ARCHITECTURE.md (default: this repository)")
    root = parser.parse_args(argv).root
    src = root / "src"

    files = sorted(p for p in src.rglob("*.rs") if p.relative_to(src).parts != ("lib.rs",))
    modules = {module_of(p, src) for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    in_code: dict[str, set[str]] = {m: set() for m in modules}
    # Every crossing: (from, to, file, line, in tests).
    crossings: list[tuple[str, str, Path, int, bool]] = []
    for path in files:
        module, depth = module_of(path, src), depth_of(path, src)
        text = path.read_text()
        code = "\n".join(line.split("//")[0] for line in text.splitlines())
        if path.name == "tests.rs":
            # A file's unit tests moved beside it (`#[cfg(test)] mod tests;` in `x.rs` reads
            # `x/tests.rs`): all of it is tests, at its own depth.
            found = [(n, o, True) for n, o in names(code, depth)]
        else:
            split = TESTS.search(code)
            at = split.start() if split else len(code)
            # The tests module sits one level below the file's own module.
            found = [(n, o, False) for n, o in names(code[:at], depth)]
            found += [(n, at + o, True) for n, o in names(code[at:], depth + 1)]
        for target, offset, in_tests in found:
            if target not in modules or target == module:
                continue
            graph[module].add(target)
            if not in_tests:
                in_code[module].add(target)
            crossings.append((module, target, path, code.count("\n", 0, offset) + 1, in_tests))

    for module in sorted(modules):
        shown = [t if t in in_code[module] else f"{t} (tests)" for t in sorted(graph[module])]
        print(f"{module:<12} -> {', '.join(shown) or '-'}")

    problems: list[str] = []
    for component in cycles(graph):
        problems.append(f"cycle: {' <-> '.join(component)}")

    rules, table_problems = read_table(root / "ARCHITECTURE.md")
    problems.extend(table_problems)
    if rules:
        for module in sorted(modules - rules.keys()):
            problems.append(f"ARCHITECTURE.md: module `{module}` is in src/ but not in the module table")
        named = set(rules) | {t for allowed in rules.values() for t in allowed}
        for module in sorted(named - modules):
            problems.append(f"ARCHITECTURE.md: the module table names `{module}`, which is not in src/")
        for source, target, path, line, in_tests in crossings:
            if source not in rules:
                continue
            allowed = rules[source]
            if target in allowed and (in_tests or not allowed[target]):
                continue
            where = f"{path.relative_to(root)}:{line}"
            if target in allowed:
                problems.append(f"forbidden import: {source} -> {target} ({where}; the table allows it in tests only)")
            else:
                problems.append(f"forbidden import: {source} -> {target} ({where})")

    if not any(p.startswith("cycle:") for p in problems):
        print("no cycles")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
