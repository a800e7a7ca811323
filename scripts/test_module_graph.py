#!/usr/bin/env python3
"""Tests of scripts/module-graph.py: a tiny crate and ARCHITECTURE.md in a temporary directory, clean
and with deliberate violations.

    python3 scripts/test_module_graph.py
"""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "module-graph.py"

ARCHITECTURE = """\
# Architecture

## Modules: what each owns, and what it may import

The graph is checked.

| module | owns | may import |
|---|---|---|
| `main.rs` | the binary | `cli`, `engine` |
| `cli` | flags | `engine` (its config), `error`, `env_vars` |
| `engine/` | the network | `sign`, `error`, `sim` (in its unit tests) |
| `sign` | hashes | — |
| `sim` | the simulator | `sign`, `error` |
| `error`, `env_vars` | errors, variables | — |

Rules that keep it so.

## Next section
"""

TESTS = "\n#[cfg(test)]\nmod tests {{\n{}\n}}\n"

CLEAN = {
    "lib.rs": "pub mod cli;\npub mod engine;\npub mod env_vars;\npub mod error;\npub mod sign;\npub mod sim;\n",
    "main.rs": "use cloudstart::cli::Cli;\nfn main() { cloudstart::engine::run(); }\n",
    "cli.rs": "use crate::engine::Config;\nuse super::{error, env_vars::NAME};\n",
    "engine/mod.rs": "pub mod client;\nuse crate::sign::hmac;\n// crate::cli in a comment is no import\n"
    + TESTS.format("    use crate::sim::spawn;"),
    "engine/client.rs": "use super::hmac;\nuse super::super::error::Error;\n",
    "sign.rs": "pub fn hmac() {}\n" + TESTS.format("    use super::*;"),
    "sim.rs": "use crate::{error::Error, sign::{self, hmac}};\n",
    "error.rs": "pub struct Error;\n",
    "env_vars.rs": "pub const NAME: &str = \"X\";\n",
}


class ModuleGraph(unittest.TestCase):
    def run_script(self, files: dict[str, str], architecture: str = ARCHITECTURE) -> subprocess.CompletedProcess:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name, text in files.items():
                path = root / "src" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            (root / "ARCHITECTURE.md").write_text(architecture)
            return subprocess.run(
                [sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True, check=False
            )

    def with_file(self, name: str, text: str) -> dict[str, str]:
        return {**CLEAN, name: text}

    def assertFails(self, result: subprocess.CompletedProcess, *messages: str) -> None:
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for message in messages:
            self.assertIn(message, result.stderr)

    def test_clean_tree_passes(self):
        result = self.run_script(CLEAN)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertIn("no cycles", result.stdout)
        self.assertIn("engine       -> error, sign, sim (tests)", result.stdout)
        self.assertIn("cli          -> engine, env_vars, error", result.stdout)

    def test_forbidden_use_fails_naming_file_and_line(self):
        result = self.run_script(self.with_file("sign.rs", "pub fn hmac() {}\nuse crate::engine::client;\n"))
        self.assertFails(result, "forbidden import: sign -> engine (src/sign.rs:2)")

    def test_forbidden_group_member_fails(self):
        result = self.run_script(self.with_file("sim.rs", "use crate::{\n    error::Error,\n    cli::Cli,\n};\n"))
        self.assertFails(result, "forbidden import: sim -> cli (src/sim.rs:3)")
        self.assertNotIn("sim -> error", result.stderr)

    def test_forbidden_inline_path_fails(self):
        result = self.run_script(self.with_file("error.rs", "pub struct Error;\nfn f() { crate::env_vars::NAME; }\n"))
        self.assertFails(result, "forbidden import: error -> env_vars (src/error.rs:2)")

    def test_super_path_to_the_crate_root_fails(self):
        result = self.run_script(self.with_file("engine/client.rs", "use super::hmac;\nuse super::super::cli::Cli;\n"))
        self.assertFails(result, "forbidden import: engine -> cli (src/engine/client.rs:2)")

    def test_everything_below_and_row_with_two_modules(self):
        architecture = ARCHITECTURE.replace("| `cli`, `engine` |", "| everything below |")
        files = self.with_file("main.rs", "use cloudstart::{sim, error};\nuse cloudstart::env_vars::NAME;\n")
        self.assertEqual(self.run_script(files, architecture).returncode, 0)
        self.assertFails(self.run_script(files), "forbidden import: main -> sim (src/main.rs:1)")

    def test_tests_only_import_outside_tests_fails(self):
        result = self.run_script(self.with_file("engine/mod.rs", "pub mod client;\nuse crate::sign::hmac;\nuse crate::sim::spawn;\n"))
        self.assertFails(result, "forbidden import: engine -> sim (src/engine/mod.rs:3; the table allows it in tests only)")

    def test_a_tests_file_beside_its_module_is_all_tests(self):
        files = {**CLEAN, "engine/client.rs": "use super::hmac;\n#[cfg(test)]\nmod tests;\n",
                 "engine/client/tests.rs": "use super::super::super::sim::spawn;\nuse crate::sim::x;\n"}
        self.assertEqual(self.run_script(files).returncode, 0)
        files["engine/client/tests.rs"] += "use crate::cli::Flags;\n"
        self.assertFails(self.run_script(files), "forbidden import: engine -> cli (src/engine/client/tests.rs:3)")

    def test_forbidden_import_in_tests_fails(self):
        result = self.run_script(self.with_file("sign.rs", "pub fn hmac() {}\n" + TESTS.format("    use crate::error::Error;")))
        self.assertFails(result, "forbidden import: sign -> error (src/sign.rs:5)")

    def test_module_missing_from_table_fails(self):
        result = self.run_script({**CLEAN, "extra.rs": "use crate::error::Error;\n"})
        self.assertFails(result, "module `extra` is in src/ but not in the module table")

    def test_table_naming_a_missing_module_fails(self):
        files = {name: text for name, text in CLEAN.items() if name != "env_vars.rs"}
        files["cli.rs"] = "use crate::engine::Config;\nuse super::error;\n"
        result = self.run_script(files)
        self.assertFails(result, "the module table names `env_vars`, which is not in src/")

    def test_unreadable_may_import_cell_fails(self):
        architecture = ARCHITECTURE.replace("| `sign`, `error` |", "| `sign`, anything else |")
        self.assertFails(self.run_script(CLEAN, architecture), "cannot read 'anything else'")

    def test_missing_table_fails(self):
        self.assertFails(self.run_script(CLEAN, "# Architecture\n"), "no section")

    def test_cycle_still_fails(self):
        architecture = ARCHITECTURE.replace("| hashes | — |", "| hashes | `sim` |")
        result = self.run_script(self.with_file("sign.rs", "use crate::sim::x;\n"), architecture)
        self.assertFails(result, "cycle: sign <-> sim")


if __name__ == "__main__":
    unittest.main()
