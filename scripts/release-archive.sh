#!/usr/bin/env bash
# Packs release archives and their checksum list exactly as the release workflow publishes them, so that
# .github/workflows/action.yml can test the Action's download against archives made the same way:
#
#   scripts/release-archive.sh pack TARGET BINARY [FILE...]   dist/cloudstart-TARGET.tar.gz (.zip for a
#                                                             windows target) holding cloudstart-TARGET/
#                                                             with BINARY and the FILEs
#   scripts/release-archive.sh sums                           dist/SHA256SUMS: every dist/cloudstart-*
#                                                             archive, and dist/THIRD-PARTY-LICENSES if there
#
# Runs on Linux, macOS and Windows (Git Bash): zip with 7z or zip, SHA-256 with sha256sum or shasum.
set -euo pipefail
cd "$(dirname "$0")/.."

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

case "${1:-}" in
  pack)
    [ $# -ge 3 ] || { echo "usage: $0 pack TARGET BINARY [FILE...]" >&2; exit 2; }
    target="$2" binary="$3"
    shift 3
    name="cloudstart-$target"
    stage="$(mktemp -d)"
    mkdir -p "$stage/$name" dist
    exe=cloudstart
    case "$target" in *windows*) exe=cloudstart.exe ;; esac
    cp "$binary" "$stage/$name/$exe"
    if [ $# -gt 0 ]; then cp "$@" "$stage/$name/"; fi
    case "$target" in
      *windows*)
        rm -f "dist/$name.zip"
        if command -v 7z >/dev/null 2>&1; then
          (cd "$stage" && 7z a -tzip "$name.zip" "$name" >/dev/null)
        else
          (cd "$stage" && zip -qr "$name.zip" "$name")
        fi
        mv "$stage/$name.zip" dist/
        ;;
      *) tar czf "dist/$name.tar.gz" -C "$stage" "$name" ;;
    esac
    rm -rf "$stage"
    ls -l dist/"$name".*
    ;;
  sums)
    cd dist
    files=(cloudstart-*)
    [ -e "${files[0]}" ] || { echo "no dist/cloudstart-* archive" >&2; exit 1; }
    [ -e THIRD-PARTY-LICENSES ] && files+=(THIRD-PARTY-LICENSES)
    sha256 "${files[@]}" > SHA256SUMS
    cat SHA256SUMS
    ;;
  *)
    echo "usage: $0 pack TARGET BINARY [FILE...] | sums" >&2
    exit 2
    ;;
esac
