#!/usr/bin/env bash
# The performance suite: builds release, runs the criterion benchmarks, then measures the whole
# binary against `cloudstart sim` on loopback and prints one table of figure, target and result.
# Takes about five minutes (the 1,000-machine runs are bound by the clouds' rate limits; the detection-lag runs
# wait for boots of up to 46 s).
set -euo pipefail
cd "$(dirname "$0")/.."
# Peak memory is read with GNU time (Debian package `time`), which a fresh machine may lack.
if [ ! -x /usr/bin/time ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq time >/dev/null || echo "note: could not install GNU time; peak RSS rows will be missing" >&2
fi
cargo build --release --locked
mkdir -p target
cargo bench --locked --bench signing -- --warm-up-time 1 --measurement-time 3 | tee target/bench-signing.txt
echo
echo "machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
python3 scripts/bench.py target/release/cloudstart target/bench-signing.txt
