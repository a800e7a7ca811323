#!/usr/bin/env python3
"""Whole-process measurements of the release binary against `cloudstart sim` on loopback.

Usage: scripts/bench.py BINARY SIGNING_BENCH_OUTPUT   (scripts/bench.sh runs it)
       BENCH_ONLY=addresses scripts/bench.py BINARY -   (only the hostile-address rows, ~10 s)
       BENCH_ONLY=fleet scripts/bench.py BINARY -       (only the 10,000-machine rows, ~75 s)

Prints one table: figure, measured, target, pass/fail. Timings are medians of repeated runs;
peak RSS comes from /usr/bin/time. Request counts and rates are read from the simulator's
request log. Exits 1 if any figure misses its target.

BENCH_RUNS sets the runs per timing (default 30). BENCH_TCCLI names a tccli executable (bench.sh
installs one from PyPI in a virtualenv); without it the tccli reference rows say they were skipped.
"""

import http.server
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime

BINARY, SIGNING = sys.argv[1], sys.argv[2]
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
TCCLI_BIN = os.environ.get("BENCH_TCCLI", "")
# tccli takes about a second a call: fewer runs.
TCCLI_RUNS = min(RUNS, 5)
# Per lifecycle action: the Tencent API call, the simulator's delay flag and what that delay is.
API = {"start": "StartInstances", "stop": "StopInstances"}
DELAY = {"start": "boot", "stop": "stop"}
TENCENT = {
    "TENCENTCLOUD_SECRET_ID": "AKIDcloudstartSIMULATOR0001",
    "TENCENTCLOUD_SECRET_KEY": "cloudstart-simulator-secret-key",
}
COMPSHARE = {
    "COMPSHARE_PUBLIC_KEY": "cloudstartSIMULATOR-compshare-public-key",
    "COMPSHARE_PRIVATE_KEY": "cloudstartSIMULATOR-compshare-private-key",
}
rows = []


def row(figure, measured, target, ok):
    rows.append((figure, measured, target, "pass" if ok else "FAIL"))


class Sim:
    """`cloudstart sim` with a request log; killed on exit. `running` Tencent ids are seeded RUNNING
    (every other id exists STOPPED), so each can be stopped once."""

    def __init__(self, *flags, running=()):
        self.dir = tempfile.mkdtemp(prefix="cloudstart-bench-")
        self.log = os.path.join(self.dir, "requests.jsonl")
        if running:
            state = os.path.join(self.dir, "state.toml")
            with open(state, "w") as f:
                f.writelines(f'[tencent."{i}"]\nstate = "RUNNING"\n' for i in running)
            flags = (*flags, "--state", state)
        self.proc = subprocess.Popen(
            [BINARY, "-q", "sim", "--log", self.log, *flags],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = {}
        for _ in range(5):
            cloud, url = self.proc.stdout.readline().split()
            self.urls[cloud] = url

    def requests(self, action=None):
        with open(self.log) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return [r for r in lines if action is None or r["action"] == action]

    def unaccepted(self, action, prefix, expected):
        """"" if the log holds exactly `expected` `action` calls for ids starting with `prefix`, each
        signed right and accepted; else what it holds, e.g. " (28 of 30 calls accepted)". (A call
        whose signature fails is logged without ids: it shows as one missing.)"""
        calls = [r for r in self.requests(action) if r["ids"] and r["ids"][0].startswith(prefix)]
        accepted = sum(1 for r in calls if r["signature"] == "ok" and r["error_code"] is None)
        if accepted == len(calls) == expected:
            return ""
        return f" ({accepted} of {expected} calls accepted)"

    def close(self):
        self.proc.kill()
        self.proc.wait()


def when(record):
    return datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()


def env(extra):
    e = {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir()}
    e.update(extra)
    return e


def wall_ms(args, extra_env, runs=RUNS, warmup=0):
    """Median wall time of `runs` runs, after `warmup` untimed ones; `{n}` in args counts all."""
    times = []
    for n in range(warmup + runs):
        argv = [a.format(n=n) for a in args]
        t = time.perf_counter()
        subprocess.run(argv, env=env(extra_env), stdout=subprocess.DEVNULL, check=False)
        if n >= warmup:
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def rss_mib(args, extra_env, runs=10):
    if not os.path.exists("/usr/bin/time"):
        return None
    peaks = []
    for n in range(runs):
        argv = [a.format(n=n) for a in args]
        out = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *argv],
            env=env(extra_env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        peaks.append(int(out.stderr.strip().splitlines()[-1]) / 1024)
    return statistics.median(peaks)


class HostileTencent:
    """A canned Tencent API on 127.0.0.1 (issue 20 item 2): StartInstances is accepted, and
    DescribeInstances reports every machine asked about RUNNING with `per_machine` addresses, half
    public, half private — 2,400 make a 100-machine answer of about 3.4 MB, under the 4 MiB cap on
    one answer. The TC3 signature is not checked: this measures what the answers cost."""

    def __init__(self, per_machine=2400):
        half = per_machine // 2
        public = json.dumps([f"198.51.{n // 250}.{n % 250 + 1}" for n in range(half)])
        private = json.dumps([f"10.{n // 250}.{n % 250}.1" for n in range(half)])
        machine = ('{"InstanceId":%s,"InstanceState":"RUNNING","PublicIpAddresses":' + public
                   + ',"PrivateIpAddresses":' + private + '}')
        self.largest = 0
        bench = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.headers.get("X-TC-Action") == "DescribeInstances":
                    ids = body.get("InstanceIds", [])
                    machines = ",".join(machine % json.dumps(i) for i in ids)
                    answer = ('{"Response":{"TotalCount":%d,"InstanceSet":[%s],"RequestId":"r-2"}}'
                              % (len(ids), machines)).encode()
                    bench.largest = max(bench.largest, len(answer))
                else:
                    answer = b'{"Response":{"RequestId":"r-1"}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def hostile_address_rows():
    """Peak RSS of a start of 1,000 and 3,000 Tencent machines whose describe answers each carry
    2,400 addresses, beside the same fleets with 32 (16 of a kind: the most kept) and with 2 (one of
    a kind, the usual). Only the first 16 of a kind are kept, so what hostile answers add over the
    most kept is flat with fleet size; before, 1,000 such machines took 443 MB and 3,000 took
    1.3 GB. What grows with the fleet is what any fleet costs: each machine's record, with the
    addresses it may have."""
    def peak(server, n):
        ids = [f"ins-a{n:04d}{i:03x}" for i in range(n)]
        return rss_mib([BINARY, "-q", "start", "-o", "json", "-p", "tencent", "-r", "ap-guangzhou",
                        "--endpoint", server.url, "--timeout", "2m", *ids], TENCENT, runs=3)

    hostile, capped, honest = HostileTencent(2400), HostileTencent(32), HostileTencent(2)
    peaks = {n: (peak(hostile, n), peak(capped, n)) for n in (1000, 3000)}
    plain = {n: peak(honest, n) for n in (1000, 3000)}
    for server in (hostile, capped, honest):
        server.close()
    if peaks[1000][0] is None:
        row("hostile addresses: peak RSS", "skipped (no /usr/bin/time)", "reference", True)
        return
    # Answers of 3 MB and more show the describes were made, so the figures are not an early exit's.
    answer = f"{hostile.largest / 1e6:.1f} MB answers"
    for n, (rss, kept) in peaks.items():
        row(f"{n} Tencent, 2,400 addresses each ({answer}): peak RSS", f"{rss:.1f} MiB",
            "<= 64 MiB", rss <= 64 and hostile.largest > 3e6)
        row(f"{n} Tencent, 32 addresses each: peak RSS", f"{kept:.1f} MiB", "reference", True)
        row(f"{n} Tencent, 2 addresses each: peak RSS", f"{plain[n]:.1f} MiB", "reference", True)
    extra = {n: rss - kept for n, (rss, kept) in peaks.items()}
    row("hostile answers' extra peak RSS, 1,000 / 3,000 machines",
        f"{extra[1000]:.1f} / {extra[3000]:.1f} MiB", "<= 8 MiB each (flat)",
        max(extra.values()) <= 8)
    ratio = peaks[3000][0] / peaks[1000][0]
    row("hostile answers: peak RSS 3,000 / 1,000 machines", f"{ratio:.2f}", "<= 2 (was 3)",
        ratio <= 2)


def max_in_window(times, seconds=1.0):
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - seconds:
            j += 1
        best = max(best, i - j + 1)
    return best


def big_fleet_rows():
    """10,000 Tencent ids under `--timeout` (issue 20 item 4): 100 starts at the start limit, the
    machines booting 3 s after theirs, the describes paced at the wait's budget (5 in any second)
    from the first accepted batch to the end. With 45 s every machine is reported running and the
    run ends within a second of the describe that saw the last one RUNNING; with 15 s the deadline
    cuts the wait short, and the run ends within a second of it, the budget kept to the end."""
    ids = [f"ins-f{n:07d}" for n in range(10_000)]
    for timeout in (45, 15):
        sim = Sim("--boot-delay", "3s")
        t = time.time()
        out = subprocess.run(
            [BINARY, "-q", "start", "-o", "json", "-p", "tencent", "-r", "ap-guangzhou",
             "--endpoint", sim.urls["tencent"], "--timeout", f"{timeout}s", *ids],
            env=env(TENCENT), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            check=False,
        )
        ended = time.time()
        described = sim.requests("DescribeInstances")
        describes = [when(r) for r in described]
        asked = {i for r in described for i in r["ids"]}
        sim.close()
        try:
            records = json.loads(out.stdout)["instances"]
        except (ValueError, KeyError):
            records = []
        outcomes = {}
        for r in records:
            outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
        deadline = t + timeout
        busiest = max_in_window(describes)
        shown = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
        if timeout == 45:
            row("10,000 Tencent, --timeout 45s: outcomes", shown or "no report", "10000 running",
                outcomes.get("running") == 10_000)
            after_last = ended - max(describes, default=ended)
            row("10,000 Tencent, --timeout 45s: exit after the last describe",
                f"{after_last:.2f} s", "<= 1 s", after_last <= 1)
        else:
            # A record that claims polls ("after 14.2s and 1 polls") names a machine the log
            # shows described: no poll is claimed that was not made.
            claimed = [r for r in records if r["outcome"] == "running"
                       or re.search(r" and [1-9][0-9]* polls", (r.get("error") or {}).get("message", ""))]
            honest = all(r["id"] in asked for r in claimed)
            row("10,000 Tencent, --timeout 15s: outcomes", shown or "no report",
                "10000 records, polls as logged", len(records) == 10_000 and honest)
            late = ended - deadline
            row("10,000 Tencent, --timeout 15s: exit after the deadline", f"{late:.2f} s",
                "<= 1 s", late <= 1)
        row(f"10,000 Tencent, --timeout {timeout}s: most describes in any 1 s", str(busiest),
            "<= 5", busiest <= 5)


def print_table():
    widths = [max(len(r[i]) for r in rows + [("figure", "measured", "target", "result")]) for i in range(4)]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format("figure", "measured", "target", "result"))
    for r in rows:
        print(line.format(*r))
    sys.exit(0 if all(r[3] == "pass" for r in rows) else 1)


if os.environ.get("BENCH_ONLY") == "addresses":
    hostile_address_rows()
    print_table()
if os.environ.get("BENCH_ONLY") == "fleet":
    big_fleet_rows()
    print_table()


# --version
version_ms = wall_ms([BINARY, "--version"], {})
version_rss = rss_mib([BINARY, "--version"], {})
row("--version wall", f"{version_ms:.1f} ms", "<= 5 ms", version_ms <= 5)
if version_rss is not None:
    row("--version peak RSS", f"{version_rss:.1f} MiB", "<= 8 MiB", version_rss <= 8)

# One signed start and one signed stop, --no-wait; then each waited for with an instant boot or
# stop; then tccli's StartInstances and StopInstances on the same simulator, for reference. Starts
# take ids the simulator has STOPPED (ins-1…, ins-2…, ins-3…; tccli ins-7…), stops ones seeded
# RUNNING (ins-4…, ins-5…, ins-6…; tccli ins-8…); every call must be signed right and accepted.
IDS = {"start": "123", "stop": "456"}
TCCLI_IDS = {"start": "7", "stop": "8"}
seeded = max(RUNS, 10) + 1
sim = Sim("--boot-delay", "0s", "--stop-delay", "0s",
          running=[f"ins-{p}{n:07d}" for p in IDS["stop"] + TCCLI_IDS["stop"] for n in range(seeded)])
url = sim.urls["tencent"]
nowait_ms = {}
for action, (first, second, third) in IDS.items():
    command = [BINARY, "-q", action, "-p", "tencent", "-r", "ap-guangzhou", "--endpoint", url]
    nowait_ms[action] = wall_ms(command + ["--no-wait", f"ins-{first}{{n:07d}}"], TENCENT)
    nowait_rss = rss_mib(command + ["--no-wait", f"ins-{second}{{n:07d}}"], TENCENT)
    wait_ms = wall_ms(command + ["--poll-interval", "10ms", f"ins-{third}{{n:07d}}"], TENCENT)
    bad = [sim.unaccepted(API[action], f"ins-{p}", count)
           for p, count in ((first, RUNS), (second, 10), (third, RUNS))]
    row(f"{action} --no-wait wall", f"{nowait_ms[action]:.1f} ms{bad[0]}", "<= 15 ms",
        nowait_ms[action] <= 15 and not bad[0])
    if nowait_rss is not None:
        row(f"{action} --no-wait peak RSS", f"{nowait_rss:.1f} MiB{bad[1]}", "<= 12 MiB",
            nowait_rss <= 12 and not bad[1])
    row(f"{action} + wait (instant {DELAY[action]}, 10ms poll)", f"{wait_ms:.1f} ms{bad[2]}",
        "<= 30 ms", wait_ms <= 30 and not bad[2])
# tccli from PyPI, pointed at the simulator: given `--endpoint http://…`, tencentcloud-sdk-python
# (ApiRequest._handle_host) keeps the scheme and speaks plain HTTP; it also sends and signs that
# whole string as the Host header, which the simulator verifies as received. One untimed call
# first: the first writes tccli's default configuration into its HOME.
if TCCLI_BIN and os.access(TCCLI_BIN, os.X_OK):
    tccli_env = dict(TENCENT, HOME=tempfile.mkdtemp(prefix="cloudstart-bench-tccli-"))
    for action, first in TCCLI_IDS.items():
        tccli_ms = wall_ms([TCCLI_BIN, "cvm", API[action], "--region", "ap-guangzhou", "--endpoint",
                            url, "--InstanceIds", f'["ins-{first}{{n:07d}}"]'],
                           tccli_env, runs=TCCLI_RUNS, warmup=1)
        bad = sim.unaccepted(API[action], f"ins-{first}", TCCLI_RUNS + 1)
        row(f"tccli {API[action]} wall", f"{tccli_ms:.0f} ms{bad}", "reference", not bad)
        row(f"tccli / cloudstart {action} --no-wait", f"{tccli_ms / nowait_ms[action]:.0f}x",
            "reference", not bad)
else:
    row("tccli StartInstances / StopInstances wall", "skipped: no tccli (BENCH_TCCLI)", "reference",
        True)
sim.close()

# Planning 100,000 targets (a targets file with every id once, then all of them again): the
# de-duplication is linear, so this is a blink; it took minutes when it was quadratic.
plan_dir = tempfile.mkdtemp(prefix="cloudstart-bench-")
plan_file = os.path.join(plan_dir, "targets.toml")
plan_ids = ", ".join(f'"ins-{n:08x}"' for n in range(100_000))
with open(plan_file, "w") as f:
    f.write(f'[[target]]\nprovider = "tencent"\nregion = "ap-guangzhou"\nids = [{plan_ids}]\n')
    f.write(f'[[target]]\nprovider = "tencent"\nregion = "ap-guangzhou"\nids = [{plan_ids}]\n')
plan_ms = wall_ms([BINARY, "-q", "start", "--dry-run", "-o", "json", "-f", plan_file], TENCENT, runs=5)
row("plan 100,000 targets given twice (--dry-run)", f"{plan_ms:.0f} ms", "<= 2000 ms", plan_ms <= 2000)

# Signing, from the criterion run.
with open(SIGNING) as f:
    text = f.read()
for cloud, value, unit in re.findall(r"sign/(\w+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text):
    micros = float(value) * {"ns": 0.001, "µs": 1.0, "us": 1.0, "ms": 1000.0}[unit]
    row(f"sign {cloud} (criterion median)", f"{micros:.2f} µs", "<= 10 µs", micros <= 10)

# 1,000 Tencent machines booting in 5 s.
sim = Sim("--boot-delay", "5s")
ids = [f"ins-{n:08d}" for n in range(1000)]
subprocess.run(
    [BINARY, "-q", "start", "-p", "tencent", "-r", "ap-guangzhou", "--endpoint",
     sim.urls["tencent"], "--poll-interval", "1s", "--poll-max", "2s", *ids],
    env=env(TENCENT), stdout=subprocess.DEVNULL, check=False,
)
ended = time.time()
starts = sim.requests("StartInstances")
describes = sim.requests("DescribeInstances")
rounds = sum(1 for r in describes if ids[0] in r["ids"])
per_round = len(describes) / max(rounds, 1)
rate = max_in_window([when(r) for r in sim.requests()])
last_boot = max(when(r) for r in starts) + 5
late = ended - last_boot
sim.close()
row("1000 Tencent: StartInstances calls", str(len(starts)), "== 10", len(starts) == 10)
row("1000 Tencent: DescribeInstances per poll round", f"{per_round:.1f}", "<= 10", per_round <= 10)
row("1000 Tencent: most requests in any 1 s", str(rate), "<= 10", rate <= 10)
row("1000 Tencent: RUNNING after the last boot", f"{late:.2f} s", "<= 2 s (--poll-max)", late <= 2)

# 1,000 CompShare machines, one request each, at the 20/s limit.
sim = Sim("--boot-delay", "0s")
hosts = [f"uhost-{n:08d}" for n in range(1000)]
t = time.perf_counter()
subprocess.run(
    [BINARY, "-q", "start", "-p", "compshare", "-r", "cn-wlcb", "-z", "cn-wlcb-01",
     "--endpoint", sim.urls["compshare"], "--no-wait", *hosts],
    env=env(COMPSHARE), stdout=subprocess.DEVNULL, check=False,
)
took = time.perf_counter() - t
permitted = 1000 / 20
starts = sim.requests("StartCompShareInstance")
sim.close()
ratio = took / permitted
row("1000 CompShare: start calls", str(len(starts)), "== 1000", len(starts) == 1000)
row("1000 CompShare: time / rate-limit time", f"{took:.1f} s / {permitted:.0f} s = {ratio:.2f}",
    "0.90 .. 1.10", 0.9 <= ratio <= 1.1)

# Detection latency: first poll one interval after the start; RUNNING reported within one interval
# of the flip.
sim = Sim("--boot-delay", "2s")
subprocess.run(
    [BINARY, "-q", "start", "-p", "tencent", "-r", "ap-guangzhou", "--endpoint",
     sim.urls["tencent"], "--poll-interval", "100ms", "--poll-max", "100ms", "ins-90000000"],
    env=env(TENCENT), stdout=subprocess.DEVNULL, check=False,
)
ended = time.time()
started = when(sim.requests("StartInstances")[0])
first_poll = when(sim.requests("DescribeInstances")[0]) - started
after_flip = ended - (started + 2)
sim.close()
row("first poll after the start", f"{first_poll * 1000:.0f} ms", "100 ms (+-20)",
    abs(first_poll - 0.1) <= 0.02)
row("RUNNING reported after the flip", f"{after_flip * 1000:.0f} ms", "<= 100 ms", after_flip <= 0.1)

# Time to a usable (or a stopped) machine with the default flags: detection lag (the machine
# turning RUNNING, or STOPPED, -> cloudstart exiting) for boots and stops of 7, 20 and 45 s, and the
# busiest second of describes while 300 and 1,000 Tencent machines boot; tccli's fixed 5 s waiter
# (--poll-interval 5s --poll-max 5s) is the reference row. All runs go at once, each against its
# own simulator.
TCCLI = ["--poll-interval", "5s", "--poll-max", "5s"]


def launch(action, delay, ids, extra):
    """`cloudstart start` or `stop` of `ids`, turning RUNNING or STOPPED `delay` s after the call
    is accepted; stops get their machines seeded RUNNING."""
    sim = Sim(f"--{DELAY[action]}-delay", f"{int(delay * 1000)}ms",
              running=ids if action == "stop" else ())
    proc = subprocess.Popen(
        [BINARY, "-q", action, "-p", "tencent", "-r", "ap-guangzhou", "--endpoint",
         sim.urls["tencent"], "--timeout", "5m", *extra, *ids],
        env=env(TENCENT), stdout=subprocess.DEVNULL,
    )
    # The moment the process ends, taken by a thread of its own: the runs end in any order.
    ended = {}
    waiter = threading.Thread(target=lambda: (proc.wait(), ended.setdefault("at", time.time())))
    waiter.start()
    return sim, waiter, ended, action, delay


def finish(run):
    """The detection lag (infinite if no call was accepted) and the busiest second of describes."""
    sim, waiter, ended, action, delay = run
    waiter.join()
    ended = ended["at"]
    accepted = [when(r) for r in sim.requests(API[action]) if r["error_code"] is None]
    describes = [when(r) for r in sim.requests("DescribeInstances")]
    sim.close()
    lag = ended - (max(accepted) + delay) if accepted else float("inf")
    return lag, max_in_window(describes)


# Each boot and stop is also run 0.25, 0.5 and 0.75 s longer, so the flip falls at every phase
# between two polls; the row shows the worst of the four.
PHASES = (0.0, 0.25, 0.5, 0.75)
lag_runs = {(action, delay, phase, style): launch(action, delay + phase,
                                                  [f"ins-7{delay:02d}{int(phase * 100):02d}000"],
                                                  TCCLI if style == "tccli" else [])
            for action in ("start", "stop") for delay in (7, 20, 45) for phase in PHASES
            for style in ("default", "tccli")}
fleet_runs = {(n, style): launch("start", 10, [f"ins-{n:04d}{i:04d}" for i in range(n)],
                                 TCCLI if style == "tccli" else [])
              for n in (300, 1000) for style in ("default", "tccli")}
lags = {}
for (action, delay, phase, style), run in lag_runs.items():
    lag, _ = finish(run)
    lags[(action, delay, style)] = max(lags.get((action, delay, style), 0.0), lag)
for (action, delay, style), lag in sorted(lags.items()):
    figure = f"detection lag, {delay} s {DELAY[action]}, worst phase"
    if style == "default":
        row(f"{figure} (default flags)", f"{lag:.2f} s", "<= 1.5 s", lag <= 1.5)
    else:
        row(f"{figure} (tccli-like 5 s)", f"{lag:.2f} s", "reference", lag != float("inf"))
for (n, style), run in fleet_runs.items():
    _, busiest = finish(run)
    if style == "default":
        row(f"{n} Tencent booting: most describes in any 1 s (default)", str(busiest), "<= 5",
            busiest <= 5)
    else:
        row(f"{n} Tencent booting: most describes in any 1 s (tccli-like 5 s)", str(busiest),
            "reference", True)

# Memory under hostile describe answers (issue 20 item 2).
hostile_address_rows()

# 10,000 machines against a deadline (issue 20 item 4).
big_fleet_rows()

# Binary size.
size = os.path.getsize(BINARY) / 1e6
row("release binary size", f"{size:.1f} MB", "<= 10 MB", size <= 10)

print_table()
