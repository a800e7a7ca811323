#!/usr/bin/env bash
# The Action's install step (main.js runs it): use a `cloudstart` already on PATH (when the version asked
# for is `latest` or matches), else download this runner's release archive, check it against the
# release's SHA256SUMS and put it on PATH for later steps. Inputs come as CLOUDSTART_ACTION_* variables,
# never spliced into the script. With CLOUDSTART_ACTION_BIN_FILE set, the binary's path is written there
# too: a step does not see what it adds to GITHUB_PATH itself.
set -euo pipefail
version="${CLOUDSTART_ACTION_VERSION:-latest}"
version="${version#v}"
repo="${CLOUDSTART_ACTION_REPOSITORY:-cloudstart/cloudstart}"

# Records the binary's path for main.js, in the platform's form (Git Bash on Windows says /c/…).
chosen() {
  local bin="$1"
  if command -v cygpath >/dev/null 2>&1; then bin="$(cygpath -w "$bin")"; fi
  if [ -n "${CLOUDSTART_ACTION_BIN_FILE:-}" ]; then printf '%s\n' "$bin" > "$CLOUDSTART_ACTION_BIN_FILE"; fi
}

if command -v cloudstart >/dev/null 2>&1; then
  found="$(cloudstart --version)"
  if [ "$version" = latest ] || [[ "$found" == "cloudstart $version "* ]]; then
    echo "using $(command -v cloudstart): $found"
    chosen "$(command -v cloudstart)"
    exit 0
  fi
  echo "cloudstart on PATH is $found; installing $version"
fi

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) echo "::error::no cloudstart release for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}"; exit 1 ;;
esac
case "$target" in
  *windows*) asset="cloudstart-$target.zip" ;;
  *) asset="cloudstart-$target.tar.gz" ;;
esac
if [ "$version" = latest ]; then
  base="https://github.com/$repo/releases/latest/download"
else
  base="https://github.com/$repo/releases/download/v$version"
fi

dir="${RUNNER_TEMP:-$(mktemp -d)}/cloudstart-action"
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"
curl -sSfL --retry 3 -o "$asset" "$base/$asset"
curl -sSfL --retry 3 -o SHA256SUMS "$base/SHA256SUMS"
expected="$(awk -v asset="$asset" '$2 == asset || $2 == "*" asset { print $1 }' SHA256SUMS)"
if [ -z "$expected" ]; then
  echo "::error::SHA256SUMS of $base lists no $asset"
  exit 1
fi
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$asset" | awk '{ print $1 }')"
else
  actual="$(shasum -a 256 "$asset" | awk '{ print $1 }')"
fi
if [ "$actual" != "$expected" ]; then
  echo "::error::$asset: SHA-256 $actual, SHA256SUMS says $expected"
  exit 1
fi
case "$asset" in
  *.zip) unzip -q "$asset" ;;
  *) tar xzf "$asset" ;;
esac
echo "$dir/cloudstart-$target" >> "$GITHUB_PATH"
"$dir/cloudstart-$target/cloudstart" --version
chosen "$dir/cloudstart-$target/cloudstart"
