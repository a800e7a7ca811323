#!/usr/bin/env python3
"""THIRD-PARTY-LICENSES: every crate a release build of cloudstart is made from, with its license.

Asks `cargo tree --locked --target all --edges normal,build` for the crates the features in use
actually pull in (cargo metadata's graph would also list optional crates that only a weak `dep?/feature`
names), for every target the release builds (so Windows- and macOS-only crates are listed too).
Dev-dependencies are left out: no release binary contains them. Prints a short header, the crates per
license expression, then one line per crate: name, version and the SPDX license expression its
Cargo.toml declares. Exits 1 if a crate declares none (a `license-file` only), so the list never
silently lacks one, or if a crate comes from anywhere but crates.io. deny.toml allows exactly these licenses; `cargo deny check licenses` enforces it.

    python3 scripts/third-party-licenses.py [MANIFEST_DIR] > THIRD-PARTY-LICENSES

Needs cargo and the Python standard library only; offline, it needs the crates in cargo's cache
(`cargo fetch --locked` once, then CARGO_NET_OFFLINE=true).
"""

import subprocess
import sys
from collections import Counter

SEPARATOR = "\t"


def crates(manifest_dir: str) -> tuple[tuple[str, str, str], list[tuple[str, str, str]]]:
    """The root package and every crate it is built from, as (name, version, license)."""
    lines = subprocess.run(
        ["cargo", "tree", "--locked", "--target", "all", "--edges", "normal,build"]
        + ["--prefix", "none", "--format", f"{{p}}{SEPARATOR}{{l}}"],
        cwd=manifest_dir,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout.splitlines()
    found = []
    for line in lines:
        package, _, license = line.partition(SEPARATOR)
        # `{p}` is `name vVERSION`, then `(proc-macro)` or a path source; cargo marks a crate it has
        # printed before with ` (*)` at the end of the line.
        name, version, *source = package.split()
        if found and source not in ([], ["(proc-macro)"]):
            sys.exit(f"not from crates.io: {package} (deny.toml allows crates.io only)")
        found.append((name, version.removeprefix("v"), license.removesuffix(" (*)").strip()))
    root, rest = found[0], sorted(set(found[1:]) - {found[0]})
    return root, rest


def main() -> int:
    (root_name, root_version, root_license), deps = crates(sys.argv[1] if len(sys.argv) > 1 else ".")
    missing = [f"{name} {version}" for name, version, license in deps if not license]
    if missing:
        print(f"no SPDX license expression: {', '.join(missing)}", file=sys.stderr)
        return 1
    out = [
        f"Third-party software in {root_name} {root_version}",
        "",
        f"{root_name} itself is {root_license}-licensed (LICENSE). Its binaries are built from the {len(deps)}",
        "crates below, all from crates.io (normal and build dependencies, for any target), each under the",
        "license expression its Cargo.toml declares; each crate's source package holds its license text.",
        "Written by scripts/third-party-licenses.py from Cargo.lock.",
        "",
        "Crates per license expression:",
    ]
    counts = Counter(license for _, _, license in deps)
    for expression, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        out.append(f"  {count:4}  {expression}")
    out += ["", "Crates:"]
    name_width = max(len(name) for name, _, _ in deps)
    version_width = max(len(version) for _, version, _ in deps)
    for name, version, license in deps:
        out.append(f"  {name:<{name_width}}  {version:<{version_width}}  {license}")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
