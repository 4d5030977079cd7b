#!/usr/bin/env bash
# foundation.sh: proflab's foundation figures, side by side with a minimal Node.js 20 server.
#
#   1. wrk on GET /api/health: proflab vs scripts/bench/node-health.js (requests/s, p50, p99)
#   2. time from exec to the first 200 on /api/health (median of BENCH_STARTS starts)
#   3. idle RSS after start
#   4. RSS across memory-leak?mb=64 (twice) and memory-clear
#   5. event-loop-jam accuracy (ms=100, 500, 2000) and a /api/health waiting behind a 2000 ms jam
#
# Usage: scripts/bench/foundation.sh
# Environment:
#   PROFLAB_BIN            the binary (default: <repo>/build-bench/proflab)
#   BENCH_SECONDS          wrk duration of each measured run, seconds (default 10)
#   BENCH_WARMUP_SECONDS   wrk warm-up before each measured run (default 2)
#   BENCH_ROUNDS           wrk rounds, proflab and node alternating, fresh servers each round; the table
#                          shows the medians (default 3)
#   BENCH_CONNECTIONS      wrk connections (default 50); BENCH_THREADS wrk threads (default 1)
#   BENCH_STARTS           starts measured for the startup median (default 5, after 1 discarded)
#   BENCH_SERVER_CPU       core for the servers (default 0); BENCH_WRK_CPU core for wrk and the pollers (default 1)
#   BENCH_WRK_LOG          where proflab's stderr (its access log) goes during the wrk runs (default /dev/null;
#                          a file path measures the cost of logging to a file)
#   BENCH_KEEP=1           keep the work directory (raw wrk output, server logs) instead of deleting it
# Needs: wrk, node >= 20, taskset, curl, python3 (Debian 12), two cores. Loopback only.
# Exit status: 0 when every measurement ran (whatever the PASS/FAIL verdicts), 2 on an error.
set -euo pipefail

die() { echo "foundation.sh: error: $*" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PROFLAB_BIN=${PROFLAB_BIN:-$ROOT/build-bench/proflab}
NODE_SERVER=$HERE/node-health.js
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
BENCH_THREADS=${BENCH_THREADS:-1}
BENCH_STARTS=${BENCH_STARTS:-5}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
WRK_CPU=${BENCH_WRK_CPU:-1}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_WRK_LOG=${BENCH_WRK_LOG:-/dev/null}
TOKEN=bench-token-$$
HOST=127.0.0.1

# ---------------------------------------------------------------- prerequisites
int_in() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || die "$1 must be an integer from $3 to $4, got '$2'"; }
int_in BENCH_SECONDS "$BENCH_SECONDS" 1 600
int_in BENCH_WARMUP_SECONDS "$BENCH_WARMUP_SECONDS" 1 60
int_in BENCH_ROUNDS "$BENCH_ROUNDS" 1 20
int_in BENCH_CONNECTIONS "$BENCH_CONNECTIONS" 1 10000
int_in BENCH_THREADS "$BENCH_THREADS" 1 64
int_in BENCH_STARTS "$BENCH_STARTS" 1 50
int_in BENCH_SERVER_CPU "$SERVER_CPU" 0 4095
int_in BENCH_WRK_CPU "$WRK_CPU" 0 4095
[ "$SERVER_CPU" != "$WRK_CPU" ] || die "BENCH_SERVER_CPU and BENCH_WRK_CPU must be different cores"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash >= 5 needed (EPOCHREALTIME), this is $BASH_VERSION"

missing=()
declare -A pkg=([wrk]=wrk [node]=nodejs [taskset]=util-linux [curl]=curl [python3]=python3)
for t in wrk node taskset curl python3; do command -v "$t" >/dev/null 2>&1 || missing+=("$t (Debian package ${pkg[$t]})"); done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'foundation.sh: error: missing prerequisite: %s\n' "${missing[@]}" >&2
  echo "  install them (as root: scripts/deps.sh test), then run again" >&2
  exit 2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || die "node does not run"
[ "$node_major" -ge 20 ] || die "node >= 20 needed, found $(node --version)"
taskset -c "$SERVER_CPU" true 2>/dev/null || die "cannot pin to core $SERVER_CPU (taskset -c $SERVER_CPU): this needs 2 cores (nproc: $(nproc))"
taskset -c "$WRK_CPU" true 2>/dev/null || die "cannot pin to core $WRK_CPU (taskset -c $WRK_CPU): this needs 2 cores (nproc: $(nproc))"
[ -x "$PROFLAB_BIN" ] || die "no proflab binary at $PROFLAB_BIN; build it:
  cmake -S $ROOT -B $ROOT/build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build $ROOT/build-bench -j2
  (or set PROFLAB_BIN; if GCC 12 stops the Release build on -Werror warnings, add
  -DCMAKE_C_FLAGS='-Wno-error=stringop-overflow -Wno-error=format-truncation' to the first command)"
[ -f "$NODE_SERVER" ] || die "missing $NODE_SERVER"

# ---------------------------------------------------------------- work dir, cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/proflab-bench.XXXXXX")
RESULTS=$WORK/results.env
: >"$RESULTS"
PIDS=()

stop_pid() { # TERM, up to 5 s, then KILL; only processes this script started
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
forget_pid() { local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]+"${keep[@]}"}"); }
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
  if [ "$BENCH_KEEP" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- python helper (arithmetic, parsing, timing)
cat >"$WORK/bench.py" <<'PY'
import json, os, re, resource, signal, socket, statistics, subprocess, sys, time

def freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()

def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])  # utime + stime (fields 14, 15)

def cpusnap(root):
    """(monotonic s, CPU jiffies of all processes on the machine (user+nice+system), jiffies of the process
    tree under `root` (this script), steal jiffies). Our tree: each live descendant's own and reaped
    children's times; the exited ones are in their reaper's cutime/cstime, up to root's."""
    root = int(root)
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy, steal = v[0] + v[1] + v[2], v[7] if len(v) > 7 else 0
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = (int(rest[1]), sum(int(x) for x in rest[11:15]))  # ppid, utime+stime+cutime+cstime
    kids = {}
    for pid, (ppid, _) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    ours, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            ours += stats[pid][1]
        todo.extend(kids.get(pid, []))
    return time.monotonic(), busy, ours, steal

def others(a, b):
    """CPU used by processes outside this script's tree between two snapshots, in % of one core; and steal."""
    hz, wall = os.sysconf("SC_CLK_TCK"), b[0] - a[0]
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / hz / wall * 100), (b[3] - a[3]) / hz / wall * 100

def percpu():
    """/proc/stat per-core jiffies: {core: (busy incl. irq/softirq, softirq+irq, idle+iowait, steal)}."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                out[m.group(1)] = (v[0] + v[1] + v[2] + v[5] + v[6], v[5] + v[6], v[3] + v[4], v[7])
    return out

UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
def to_ms(v):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", v)
    if not m: raise SystemExit(f"bench.py: cannot read the wrk latency '{v}'")
    return float(m.group(1)) * UNIT_MS[m.group(2)]

def runwrk(prefix, root, server_pid, server_core, cpu, threads, conns, secs, url, raw):
    """Run wrk pinned to cpu; print prefix_key=value lines (rps, p50, p99, errors, CPU of server and wrk)."""
    hz = os.sysconf("SC_CLK_TCK")
    c0 = cpu_ticks(server_pid)
    s0 = cpusnap(root)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    k0 = percpu()
    t0 = time.monotonic()
    cmd = ["taskset", "-c", cpu, "wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--latency", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=int(secs) + 60)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c1 = cpu_ticks(server_pid)
    oth, steal = others(s0, cpusnap(root))
    k1 = percpu()
    with open(raw, "w") as f:
        f.write(" ".join(cmd) + "\n" + p.stdout + p.stderr)
    if p.returncode != 0:
        raise SystemExit(f"bench.py: wrk failed ({p.returncode}): {p.stderr.strip()}")
    out = p.stdout
    rps = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if not (rps and p50 and p99 and total):
        raise SystemExit("bench.py: cannot read the wrk output:\n" + out)
    errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    wrk_cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall * 100
    vals = dict(rps=float(rps.group(1)), p50=to_ms(p50.group(1)), p99=to_ms(p99.group(1)),
                requests=int(total.group(1)), socket_errors=errs, non2xx=int(non2xx.group(1)) if non2xx else 0,
                server_cpu=(c1 - c0) / hz / wall * 100, wrk_cpu=wrk_cpu,
                others_cpu=oth, steal_cpu=steal)
    for name, core in (("srvcore", server_core), ("wrkcore", cpu)):
        a, b = k0[core], k1[core]
        total = sum(b[i] - a[i] for i in (0, 2, 3)) or 1
        vals[name + "_busy"] = (b[0] - a[0]) / total * 100
        vals[name + "_irq"] = (b[1] - a[1]) / total * 100
        vals[name + "_idle"] = (b[2] - a[2]) / total * 100
    for k, v in vals.items():
        print(f"{prefix}_{k}={v}")

def vmrss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"bench.py: no VmRSS for pid {pid}")

def get_health(port, timeout):
    """One GET /api/health on a fresh connection; the status code, or None if nobody listens yet."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except (ConnectionRefusedError, ConnectionResetError):
        return None
    try:
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
        return int(m.group(1)) if m else None
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        return None
    finally:
        s.close()

def startup(prefix, kind, runs, cpu, proflab, node_js, logdir, token):
    """exec -> first 200 on /api/health, measured from just before fork to the status line, polled on
    fresh connections every 0.2 ms. The child is pinned to `cpu` before exec (no taskset exec in the
    timing); this poller runs wherever the caller pinned it. One start is discarded (cold caches)."""
    runs = int(runs)
    times, rss = [], []
    for i in range(runs + 1):
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        env = dict(os.environ, LAB_ENABLE="true", LAB_TOKEN=token)
        if kind == "proflab":
            cmd = [proflab, "serve", "--listen", f"127.0.0.1:{port}"]
        else:
            cmd = ["node", node_js, f"127.0.0.1:{port}"]
        log = open(os.path.join(logdir, f"startup-{kind}-{i}.log"), "w")
        pin = lambda: os.sched_setaffinity(0, {int(cpu)})
        t0 = time.monotonic_ns()
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=pin)
        try:
            deadline = t0 + 5_000_000_000
            while True:
                st = get_health(port, 2.0)
                if st == 200:
                    t1 = time.monotonic_ns()
                    break
                if p.poll() is not None:
                    raise SystemExit(f"bench.py: {kind} exited with {p.returncode} before answering (log: {log.name})")
                if time.monotonic_ns() > deadline:
                    raise SystemExit(f"bench.py: {kind} did not answer 200 within 5 s (last status {st})")
                time.sleep(0.0002)
            if i > 0:
                times.append((t1 - t0) / 1e6)
                rss.append(vmrss_kb(p.pid))
        finally:
            p.terminate()
            try: p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
            log.close()
    print(f"{prefix}_startup_runs_ms=" + ",".join(f"{t:.1f}" for t in times))
    print(f"{prefix}_startup_median_ms={statistics.median(times)}")
    print(f"{prefix}_startup_rss_kb={statistics.median(rss)}")

def jsonfield(path, key):
    with open(path) as f:
        v = json.load(f)
    for k in key.split("."):
        v = v[k]
    print(v)

def samefields(a, b):
    ka, kb = set(json.load(open(a))), set(json.load(open(b)))
    need = {"status", "timestamp", "version", "service", "uptime", "environment"}
    print("yes" if ka == kb and need <= ka else f"no: proflab {sorted(ka)} node {sorted(kb)}")

# ------------------------------------------------------------------ report
def report(path):
    R = {}
    for line in open(path):
        line = line.rstrip("\n")
        if "=" in line:
            k, v = line.split("=", 1)
            R[k] = v
    f = lambda k: float(R[k])
    verdicts, disturbed = [], []
    def snap(k): return [float(x) for x in R[k].split()]
    def phase_others(name, a, b):
        hz = os.sysconf("SC_CLK_TCK")
        s0, s1 = snap(a), snap(b)
        wall = s1[0] - s0[0]
        oth = max(0.0, ((s1[1] - s0[1]) - (s1[2] - s0[2])) / hz / wall * 100)
        steal = (s1[3] - s0[3]) / hz / wall * 100
        note(name, oth, steal)
        return f"other processes used {oth:.0f}% of a core meanwhile (steal {steal:.0f}%)"
    def note(name, oth, steal):
        if oth > 10 or steal > 10:
            disturbed.append(f"{name}: other processes {oth:.0f}% of a core, steal {steal:.0f}%")
    def verdict(ok, ident, text, got):
        verdicts.append(("PASS" if ok else "FAIL", ident, text, got))

    secs, conns, threads, rounds = R["cfg_seconds"], R["cfg_connections"], R["cfg_threads"], int(R["cfg_rounds"])
    keys = ("rps", "p50", "p99", "requests", "socket_errors", "non2xx", "server_cpu", "wrk_cpu", "others_cpu", "steal_cpu",
            "srvcore_busy", "srvcore_irq", "srvcore_idle", "wrkcore_busy", "wrkcore_irq", "wrkcore_idle")
    for kind in ("proflab", "node"):
        for k in keys:
            xs = [float(R[f"{kind}_r{i}_{k}"]) for i in range(1, rounds + 1)]
            R[f"{kind}_{k}"] = str(int(sum(xs)) if k in ("requests", "socket_errors", "non2xx") else statistics.median(xs))
    print()
    print(f"== 1. Throughput: GET /api/health, wrk -t{threads} -c{conns} -d{secs}s --latency "
          f"(servers on core {R['cfg_server_cpu']}, wrk on core {R['cfg_wrk_cpu']}, {R['cfg_warmup']} s warm-up each)")
    print(f"   median of {rounds} round(s), proflab and node alternating, fresh servers each round; counts are totals")
    print(f"   {'':24}{'proflab':>14}{'node 20 http':>14}{'proflab/node':>14}   target")
    pr, nr = f("proflab_rps"), f("node_rps")
    print(f"   {'requests/s':24}{pr:>14,.0f}{nr:>14,.0f}{pr / nr:>13.2f}x   >= 1.50x")
    for q in ("p50", "p99"):
        a, b = f(f"proflab_{q}"), f(f"node_{q}")
        print(f"   {'latency ' + q + ' (ms)':24}{a:>14.3f}{b:>14.3f}{a / b:>13.2f}x   {'< 1.00x (lower)' if q == 'p99' else ''}")
    for k, label in (("requests", "requests completed"), ("non2xx", "non-2xx answers"), ("socket_errors", "socket errors")):
        print(f"   {label:24}{int(R['proflab_' + k]):>14,}{int(R['node_' + k]):>14,}")
    print(f"   {'server CPU (core ' + R['cfg_server_cpu'] + ')':24}{f('proflab_server_cpu'):>13.0f}%{f('node_server_cpu'):>13.0f}%")
    print(f"   {'wrk CPU (core ' + R['cfg_wrk_cpu'] + ')':24}{f('proflab_wrk_cpu'):>13.0f}%{f('node_wrk_cpu'):>13.0f}%")
    for core, label in (("srvcore", "core " + R["cfg_server_cpu"] + " busy/irq/idle"), ("wrkcore", "core " + R["cfg_wrk_cpu"] + " busy/irq/idle")):
        cells = [f"{f(k + '_' + core + '_busy'):.0f}/{f(k + '_' + core + '_irq'):.0f}/{f(k + '_' + core + '_idle'):.0f}%" for k in ("proflab", "node")]
        print(f"   {label:24}{cells[0]:>14}{cells[1]:>14}   (/proc/stat; irq = irq + softirq)")
    print(f"   {'other processes CPU':24}{f('proflab_others_cpu'):>13.0f}%{f('node_others_cpu'):>13.0f}%   (of one core; outside this script)")
    print(f"   {'steal (hypervisor)':24}{f('proflab_steal_cpu'):>13.0f}%{f('node_steal_cpu'):>13.0f}%")
    for i in range(1, rounds + 1):
        for kind in ("proflab", "node"):
            note(f"1 (wrk round {i}, {kind})", f(f"{kind}_r{i}_others_cpu"), f(f"{kind}_r{i}_steal_cpu"))
    if rounds > 1:
        for kind in ("proflab", "node"):
            print(f"   rounds, {kind + ':':8} requests/s " + ", ".join(f"{f(f'{kind}_r{i}_rps'):,.0f}" for i in range(1, rounds + 1))
                  + "; p99 ms " + ", ".join(f"{f(f'{kind}_r{i}_p99'):.3f}" for i in range(1, rounds + 1)))
    print(f"   {'RSS after last run (MB)':24}{f('proflab_rss_after_kb') / 1024:>14.1f}{f('node_rss_after_kb') / 1024:>14.1f}")
    print(f"   health JSON has the same fields (status, timestamp, version, service, uptime, environment): {R['same_fields']}")
    wl = R["cfg_wrk_log"]
    print(f"   proflab stderr during the wrk runs: {wl} (access log on as shipped, one line per request"
          f"{', discarded' if wl == '/dev/null' else ''}); node-health.js logs nothing.")
    for kind in ("proflab", "node"):
        if f(kind + "_wrk_cpu") > 90:
            print(f"   note: wrk used {f(kind + '_wrk_cpu'):.0f}% of its core against {kind}: the load generator is near "
                  f"saturation, so {kind}'s requests/s is a lower bound")
    verdict(pr / nr >= 1.5 and R["proflab_non2xx"] == "0", "1a", "throughput proflab/node >= 1.5x", f"{pr / nr:.2f}x")
    verdict(f("proflab_p99") < f("node_p99"), "1b", "p99 latency proflab < node",
            f"{f('proflab_p99'):.3f} ms vs {f('node_p99'):.3f} ms")

    print()
    print(f"== 2. Startup: exec to the first 200 on /api/health, median of {R['cfg_starts']} starts (1 discarded before), "
          f"server pinned to core {R['cfg_server_cpu']}, poller on core {R['cfg_wrk_cpu']}")
    print(f"   {'':24}{'proflab':>14}{'node 20 http':>14}{'proflab/node':>14}   target")
    a, b = f("proflab_startup_median_ms"), f("node_startup_median_ms")
    print(f"   {'median (ms)':24}{a:>14.1f}{b:>14.1f}{a / b:>13.2f}x   < 50 ms (reference NestJS lab: 600 ms)")
    print(f"   runs, proflab (ms): {R['proflab_startup_runs_ms']}")
    print(f"   runs, node (ms):    {R['node_startup_runs_ms']}")
    print(f"   proflab stderr of these starts: files in the work directory; "
          + phase_others("2 (startup)", "snap2_start", "snap2_end"))
    verdict(a < 50, "2", "startup median < 50 ms", f"{a:.1f} ms")

    print()
    print("== 3. Idle RSS (VmRSS from /proc/PID/status), 1 s after the first answer (section 1, round 1)")
    print(f"   {'':24}{'proflab':>14}{'node 20 http':>14}{'proflab/node':>14}   target")
    a, b = f("proflab_idle_rss_kb") / 1024, f("node_idle_rss_kb") / 1024
    print(f"   {'idle RSS (MB)':24}{a:>14.1f}{b:>14.1f}{a / b:>13.2f}x   < 16 MB (reference NestJS lab: 85 MB)")
    a2, b2 = f("proflab_startup_rss_kb") / 1024, f("node_startup_rss_kb") / 1024
    print(f"   {'RSS at first answer (MB)':24}{a2:>14.1f}{b2:>14.1f}{a2 / b2:>13.2f}x   (median over the startup runs)")
    verdict(a < 16, "3", "idle RSS < 16 MB", f"{a:.1f} MB")

    print()
    print("== 4. RSS across the memory lab (proflab; VmRSS, MB; Δ against before the leak)")
    base = f("leak_rss0_kb")
    rows = (("before leak", "leak_rss0_kb"), ("after memory-leak?mb=64 #1", "leak_rss1_kb"),
            ("after memory-leak?mb=64 #2", "leak_rss2_kb"), ("after memory-clear", "leak_rss3_kb"),
            ("1 s after memory-clear", "leak_rss4_kb"))
    for label, k in rows:
        v = f(k)
        print(f"   {label:32}{v / 1024:>10.1f}   Δ {(v - base) / 1024:>+8.1f}")
    print(f"   status.rssBytes after clear: {f('leak_status_rss') / 1048576:.1f} MB; retainedBytes after leak #2: "
          f"{int(R['leak_retained2']):,}; after clear: {int(R['leak_retained3']):,}; HTTP statuses: {R['leak_codes']}")
    print("   (reference NestJS lab: +130 MB after the two leaks, and RSS stays there after clear)")
    grow = (f("leak_rss2_kb") - base) / 1024
    back = (f("leak_rss3_kb") - base) / 1024
    verdict(grow >= 120, "4a", "two leaks of 64 MB make RSS grow >= 120 MB (sanity)", f"{grow:+.1f} MB")
    verdict(abs(back) <= 8 and R["leak_codes"] == "200,200,200", "4b", "RSS back within 8 MB of pre-leak after clear", f"{back:+.1f} MB")

    print()
    print("== 5. event-loop-jam accuracy (proflab; curl's time_total and the answer's elapsedMs vs requested)")
    print(f"   {'requested (ms)':>16}{'curl wall (ms)':>16}{'Δ wall':>10}{'elapsedMs':>12}{'Δ elapsed':>11}{'jammedMs':>10}  status")
    for ms in R["jam_list"].split(","):
        if R[f"jam{ms}_code"] != "200":
            print(f"   {ms:>16}  HTTP {R[f'jam{ms}_code']}")
            verdict(False, f"5-{ms}", f"jam ms={ms} within 5 ms", f"HTTP {R[f'jam{ms}_code']}")
            continue
        w, e = f(f"jam{ms}_wall_ms"), f(f"jam{ms}_elapsed")
        print(f"   {ms:>16}{w:>16.2f}{w - int(ms):>+10.2f}{e:>12.2f}{e - int(ms):>+11.2f}{R[f'jam{ms}_jammed']:>10}  {R[f'jam{ms}_code']}")
        ok = abs(w - int(ms)) <= 5 and abs(e - int(ms)) <= 5
        verdict(ok, f"5-{ms}", f"jam ms={ms}: wall and elapsedMs within 5 ms", f"{w - int(ms):+.2f} / {e - int(ms):+.2f} ms")
    off, hw, jw = f("conc_offset_ms"), f("conc_health_ms"), f("conc_jam_ms")
    expect = jw - off
    print(f"   concurrent: POST jam ms=2000 (took {jw:.1f} ms, HTTP {R['conc_jam_code']}); GET /api/health started "
          f"{off:.1f} ms later took {hw:.1f} ms (HTTP {R['conc_health_code']}); expected ≈ {expect:.1f} ms (jam end - start)")
    print(f"   proflab stderr during 4 and 5: {R['lab_log']} ({R['lab_log_lines']} lines)")
    print("   during 4 and 5, " + phase_others("4-5 (memory, jam)", "snap45_start", "snap45_end"))
    verdict(abs(hw - expect) <= 25 and R["conc_health_code"] == "200", "5-wait",
            "health started 100 ms into a 2000 ms jam waits for its end (±25 ms)", f"{hw:.1f} ms vs ≈{expect:.1f} ms")

    print()
    print("== Targets")
    for v, ident, text, got in verdicts:
        print(f"   {v}  {ident:7}{text:72}{got}")
    fails = sum(1 for v in verdicts if v[0] == "FAIL")
    print(f"   {len(verdicts) - fails} PASS, {fails} FAIL")
    if disturbed:
        print("   WARNING: the machine was not quiet, so timings and throughput are disturbed; rerun when it is idle:")
        for d in disturbed:
            print(f"     - phase {d}")
    else:
        print("   the machine was quiet during the measurements (other processes < 10% of a core, steal < 10%)")

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: wrk and started servers get killed
    cmd, args = sys.argv[1], sys.argv[2:]
    {"freeport": freeport, "runwrk": runwrk, "vmrss": lambda pid: print(vmrss_kb(pid)),
     "cpusnap": lambda root: print(*cpusnap(root)),
     "startup": startup, "json": jsonfield, "samefields": samefields, "report": report}[cmd](*args)
PY
py() { python3 "$WORK/bench.py" "$@"; }
put() { echo "$1=$2" >>"$RESULTS"; }
put_py() { # put_py KEY HELPER-ARGS...: store the helper's answer; a failing helper is an error
  local key=$1 v
  shift
  v=$(py "$@") || die "measurement '$*' failed"
  put "$key" "$v"
}
# run_bg CMD...: run in the background and wait, so an INT/TERM to this script is handled at once
run_bg() {
  local p rc=0
  "$@" &
  p=$!
  PIDS+=("$p")
  wait "$p" || rc=$?
  forget_pid "$p"
  return "$rc"
}
calc() { python3 -c 'import sys; print(eval(sys.argv[1], {}))' "$1"; }
put_calc() { local v; v=$(calc "$2") || die "cannot compute $2"; put "$1" "$v"; }

# ---------------------------------------------------------------- servers
# start_server KIND STDERR_FILE: sets SRV_PID and SRV_URL; the server pinned to SERVER_CPU.
start_server() {
  local kind=$1 errf=$2 port i
  port=$(py freeport) || die "cannot find a free loopback port"
  if [ "$kind" = proflab ]; then
    LAB_ENABLE=true LAB_TOKEN=$TOKEN taskset -c "$SERVER_CPU" "$PROFLAB_BIN" serve --listen "$HOST:$port" </dev/null >/dev/null 2>"$errf" &
  else
    taskset -c "$SERVER_CPU" node "$NODE_SERVER" "$HOST:$port" </dev/null >/dev/null 2>"$errf" &
  fi
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  SRV_URL=http://$HOST:$port
  for ((i = 0; i < 500; i++)); do # up to ~5 s
    if curl -s -o /dev/null --max-time 1 "$SRV_URL/api/health"; then return 0; fi
    kill -0 "$SRV_PID" 2>/dev/null || die "$kind exited before answering (stderr: $errf)"
    sleep 0.01
  done
  die "$kind did not answer on $SRV_URL within 5 s"
}
stop_server() { stop_pid "$1"; forget_pid "$1"; }

put cfg_seconds "$BENCH_SECONDS"; put cfg_warmup "$BENCH_WARMUP_SECONDS"; put cfg_connections "$BENCH_CONNECTIONS"
put cfg_threads "$BENCH_THREADS"; put cfg_starts "$BENCH_STARTS"; put cfg_server_cpu "$SERVER_CPU"; put cfg_wrk_cpu "$WRK_CPU"
put cfg_wrk_log "$BENCH_WRK_LOG"; put cfg_rounds "$BENCH_ROUNDS"

echo "proflab foundation bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  proflab: $PROFLAB_BIN ($("$PROFLAB_BIN" --version 2>/dev/null | head -1 || echo '?')), node $(node --version), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "  $(nproc) cores, $(uname -sr); work directory $WORK"

# ---------------------------------------------------------------- 1 + 3: wrk and idle RSS
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  for kind in proflab node; do
    errf=/dev/null
    [ "$kind" = proflab ] && errf=$BENCH_WRK_LOG
    echo "[1] round $round/$BENCH_ROUNDS, $kind: start (stderr -> $errf), idle 1 s, warm-up ${BENCH_WARMUP_SECONDS}s, measure ${BENCH_SECONDS}s ..."
    start_server "$kind" "$errf"
    curl -s --max-time 2 -o "$WORK/health-$kind.json" "$SRV_URL/api/health" || die "GET /api/health failed on $kind"
    sleep 1
    [ "$round" = 1 ] && put_py "${kind}_idle_rss_kb" vmrss "$SRV_PID"
    run_bg python3 "$WORK/bench.py" runwrk warm $$ "$SRV_PID" "$SERVER_CPU" "$WRK_CPU" "$BENCH_THREADS" "$BENCH_CONNECTIONS" \
      "$BENCH_WARMUP_SECONDS" "$SRV_URL/api/health" "$WORK/wrk-$kind-$round-warmup.txt" >/dev/null || die "wrk warm-up on $kind failed"
    run_bg python3 "$WORK/bench.py" runwrk "${kind}_r$round" $$ "$SRV_PID" "$SERVER_CPU" "$WRK_CPU" "$BENCH_THREADS" "$BENCH_CONNECTIONS" \
      "$BENCH_SECONDS" "$SRV_URL/api/health" "$WORK/wrk-$kind-$round.txt" >>"$RESULTS" || die "wrk on $kind failed"
    put_py "${kind}_rss_after_kb" vmrss "$SRV_PID"
    sed 's/^/      /' "$WORK/wrk-$kind-$round.txt"
    stop_server "$SRV_PID"
  done
done
put_py same_fields samefields "$WORK/health-proflab.json" "$WORK/health-node.json"

# ---------------------------------------------------------------- 2: startup
put_py snap2_start cpusnap $$
for kind in proflab node; do
  echo "[2] $kind: 1 + $BENCH_STARTS starts (the first discarded), exec to the first 200 ..."
  run_bg taskset -c "$WRK_CPU" python3 "$WORK/bench.py" startup "$kind" "$kind" "$BENCH_STARTS" "$SERVER_CPU" \
    "$PROFLAB_BIN" "$NODE_SERVER" "$WORK" "$TOKEN" >>"$RESULTS" || die "startup measurement of $kind failed"
done

put_py snap2_end cpusnap $$

# ---------------------------------------------------------------- 4: memory lab
LAB_LOG=$WORK/proflab-lab.log
put_py snap45_start cpusnap $$
echo "[4] proflab: memory-leak x2, memory-clear (stderr -> $LAB_LOG) ..."
start_server proflab "$LAB_LOG"
lab_post() { # lab_post PATH OUTFILE -> prints the HTTP status
  curl -s --max-time 120 -o "$2" -w '%{http_code}' -X POST -H "x-lab-token: $TOKEN" "$SRV_URL$1" || echo 000
}
put_py leak_rss0_kb vmrss "$SRV_PID"
c1=$(lab_post '/api/lab/memory-leak?mb=64' "$WORK/leak1.json"); put_py leak_rss1_kb vmrss "$SRV_PID"
c2=$(lab_post '/api/lab/memory-leak?mb=64' "$WORK/leak2.json"); put_py leak_rss2_kb vmrss "$SRV_PID"
c3=$(lab_post '/api/lab/memory-clear' "$WORK/clear.json"); put_py leak_rss3_kb vmrss "$SRV_PID"
sleep 1
put_py leak_rss4_kb vmrss "$SRV_PID"
put leak_codes "$c1,$c2,$c3"
jf() { py json "$1" "$2" 2>/dev/null || echo -1; }
put leak_retained2 "$(jf "$WORK/leak2.json" retainedBytes)"
put leak_retained3 "$(jf "$WORK/clear.json" retainedBytes)"
curl -s --max-time 5 -o "$WORK/status.json" -H "x-lab-token: $TOKEN" "$SRV_URL/api/lab/status" || true
put leak_status_rss "$(jf "$WORK/status.json" rssBytes)"

# ---------------------------------------------------------------- 5: jam accuracy, health behind a jam
echo "[5] proflab: event-loop-jam ms=100, 500, 2000; then /api/health 100 ms into a 2000 ms jam ..."
JAMS=(100 500 2000)
put jam_list "$(IFS=,; echo "${JAMS[*]}")"
for ms in "${JAMS[@]}"; do
  read -r code total < <(curl -s --max-time 30 -o "$WORK/jam-$ms.json" -w '%{http_code} %{time_total}\n' \
    -X POST -H "x-lab-token: $TOKEN" "$SRV_URL/api/lab/event-loop-jam?ms=$ms" || echo "000 0")
  put "jam${ms}_code" "$code"
  put_calc "jam${ms}_wall_ms" "$total * 1000"
  put "jam${ms}_elapsed" "$(jf "$WORK/jam-$ms.json" elapsedMs)"
  put "jam${ms}_jammed" "$(jf "$WORK/jam-$ms.json" jammedMs)"
done

t_jam=$EPOCHREALTIME
curl -s --max-time 30 -o "$WORK/conc-jam.json" -w '%{http_code} %{time_total}\n' \
  -X POST -H "x-lab-token: $TOKEN" "$SRV_URL/api/lab/event-loop-jam?ms=2000" >"$WORK/conc-jam.out" &
JAM_PID=$!
PIDS+=("$JAM_PID")
sleep 0.1
t_health=$EPOCHREALTIME
read -r hcode htotal < <(curl -s --max-time 30 -o "$WORK/conc-health.json" -w '%{http_code} %{time_total}\n' \
  "$SRV_URL/api/health" || echo "000 0")
wait "$JAM_PID" || true
forget_pid "$JAM_PID"
read -r jcode jtotal <"$WORK/conc-jam.out" || { jcode=000; jtotal=0; }
put_calc conc_offset_ms "($t_health - $t_jam) * 1000"
put_calc conc_health_ms "$htotal * 1000"
put conc_health_code "$hcode"
put_calc conc_jam_ms "$jtotal * 1000"
put conc_jam_code "$jcode"
put_py snap45_end cpusnap $$
stop_server "$SRV_PID"
put lab_log "$LAB_LOG$([ "$BENCH_KEEP" = 1 ] || echo ', deleted at exit: BENCH_KEEP=1 keeps it')"
put lab_log_lines "$(wc -l <"$LAB_LOG")"

# ---------------------------------------------------------------- report
py report "$RESULTS" || die "cannot write the report (results in $RESULTS; BENCH_KEEP=1 keeps them)"
