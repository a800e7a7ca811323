#!/usr/bin/env bash
# The performance suite: builds release, runs the criterion benchmarks, then measures the whole
# binary against `cloudstart sim` on loopback and prints one table of figure, target and result.
# Takes about five minutes (the 1,000-machine runs are bound by the clouds' rate limits; the detection-lag runs
# wait for boots and stops of up to 46 s), plus a few minutes the first time to install tccli from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
# Peak memory is read with GNU time (Debian package `time`), which a fresh machine may lack.
if [ ! -x /usr/bin/time ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y -qq time >/dev/null || echo "note: could not install GNU time; peak RSS rows will be missing" >&2
fi
cargo build --release --locked
mkdir -p target
# tccli from PyPI (it pulls tencentcloud-sdk-python), for the reference rows beside one start and one
# stop: installed once into a throwaway virtualenv; without PyPI those rows say they were skipped.
venv=target/bench-venv
if [ ! -x "$venv/bin/tccli" ]; then
  rm -rf "$venv"
  if ! { python3 -m venv "$venv" &&
         "$venv/bin/pip" install -q --disable-pip-version-check --timeout 15 --retries 1 tccli; }; then
    echo "note: could not install tccli from PyPI; the tccli rows will be skipped" >&2
    rm -rf "$venv"
  fi
fi
if [ -x "$venv/bin/tccli" ]; then
  export BENCH_TCCLI="$PWD/$venv/bin/tccli"
fi
cargo bench --locked --bench signing -- --warm-up-time 1 --measurement-time 3 | tee target/bench-signing.txt
echo
echo "machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%d)"
if [ -n "${BENCH_TCCLI:-}" ]; then
  echo "tccli: $("$BENCH_TCCLI" --version), tencentcloud-sdk-python $("$venv/bin/python" -c \
    'import tencentcloud; print(tencentcloud.__version__)')"
fi
python3 scripts/bench.py target/release/cloudstart target/bench-signing.txt
