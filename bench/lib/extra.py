#!/usr/bin/python3
"""Muxgate bench extras (python3 stdlib; the chart uses matplotlib when it is installed).

  extra.py run    --shared DIR --out FILE.jsonl   idle-connection memory (d), HTTP/1.1 clients (e),
                                                  steady state (f)
  extra.py report --shared DIR --harness-md MD --extra FILE.jsonl --md OUT.md [--png OUT.png]

`run` starts every proxy exactly as the shared harness does: it imports shared/bench/lib/bench.py
and calls its proxy_spec() (same rendered configs, same candidate contract), wait_port(), tree(),
stop_tree() (stop by PID). It starts its own Node origin (the harness stops its origin when it
ends) and stops it by PID at the end. Everything listens on 127.0.0.1 only.

(d) idle: fresh proxy, one warm request (curl), RSS sampled (idle baseline), then IDLE_CONNS client
    connections opened from here: TLS with ALPN h2, the HTTP/2 client preface + an empty SETTINGS
    frame, the server's SETTINGS acknowledged, then nothing more. After IDLE_SETTLE_S the proxy's RSS
    is sampled again; the connections still ESTABLISHED (client side, per `ss`) are counted;
    KB per connection = (RSS with connections - baseline) / connections held.
(e) h1: h2load --h1 (HTTP/1.1 over TLS, ALPN http/1.1) -c H1_CONNS -m 1 on /1k against each proxy,
    whose origin side is the same h2 backend as in the harness; `direct` = h2load to the origin's own
    HTTP/1.1-over-TLS fallback.
(f) steady: fresh proxy, one request, STEADY_WARM_S s of unmeasured h2load load (the harness' `small`
    load on /1k, split into STEADY_WARM_SESSIONS h2load runs so that client connections have opened and
    closed a few times, as they do in front of a proxy that runs for days), then the same load measured
    for STEADY_S s: what a proxy that has run for a while
    costs, once a JVM's JIT compilation is mostly done. Proxy CPU per thread from /proc/<pid>/task
    tells how much of it is still JIT (C1/C2 compiler threads) and GC. Targets: HAProxy as the harness
    configures it, HAProxy adding the four request headers Muxgate's contract adds (x-forwarded-for,
    -proto, -host, via: HAPROXY_FWD, like for like), and the candidate.
Targets are interleaved (round -> target), EXTRA_ROUNDS rounds of (d) and (e), then STEADY_ROUNDS of (f);
every loop has a bound.
"""
import argparse
import datetime
import json
import os
import re
import resource
import shlex
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def env(k, d):
    v = os.environ.get(k)
    return d if v is None or v == "" else v


def log(*a):
    print(time.strftime("%H:%M:%S"), "[extra]", *a, flush=True)


def load_bench(shared):
    """Import the shared harness as a module (no side effects beyond creating its results/<ts> dirs)."""
    lib = os.path.join(shared, "lib")
    if not os.path.isfile(os.path.join(lib, "bench.py")):
        sys.exit(f"shared harness not found: {lib}/bench.py")
    if not os.environ.get("BENCH_OUT"):
        sys.exit("BENCH_OUT must be set (absolute path; certs/ are there)")
    sys.dont_write_bytecode = True                  # the shared folder may be read-only
    saved = sys.argv
    sys.argv = [os.path.join(lib, "bench.py")]     # bench.py reads a scenario list from argv[1]
    sys.path.insert(0, lib)
    try:
        import bench  # noqa: E402
    finally:
        sys.argv = saved
    return bench


class Stop(Exception):
    pass


def _on_signal(signum, frame):
    raise Stop(f"signal {signum}")


# ---------------------------------------------------------------- HTTP/2 idle client
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS_EMPTY = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"          # len 0, type SETTINGS, flags 0, stream 0
SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"            # flags ACK


def open_h2_idle(port, ctx, timeout):
    """One TLS connection with ALPN h2: preface + SETTINGS, ACK the server's SETTINGS, keep it open."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        if s.selected_alpn_protocol() != "h2":
            s.close()
            raise RuntimeError(f"ALPN {s.selected_alpn_protocol()!r}")
        s.sendall(PREFACE + SETTINGS_EMPTY)
        buf = b""
        end = time.time() + timeout
        got = False
        while not got and time.time() < end and len(buf) < 1 << 20:
            chunk = s.recv(16384)
            if not chunk:
                raise RuntimeError("closed before SETTINGS")
            buf += chunk
            while len(buf) >= 9:                       # walk the complete frames received so far
                ln = int.from_bytes(buf[0:3], "big")
                if len(buf) < 9 + ln:
                    break
                ftype, flags = buf[3], buf[4]
                buf = buf[9 + ln:]
                if ftype == 4 and not flags & 1:
                    got = True
                    break
        if not got:
            raise RuntimeError("no SETTINGS from server")
        s.sendall(SETTINGS_ACK)
        return s
    except Exception:
        raw.close()
        raise


def client_estab(port):
    """Client-side sockets ESTABLISHED towards 127.0.0.1:port (the ones the server closed are CLOSE-WAIT)."""
    try:
        out = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
        return sum(1 for line in out.splitlines() if line.strip())
    except (OSError, subprocess.TimeoutExpired):
        return -1


# ---------------------------------------------------------------- CPU accounting
HZ = os.sysconf("SC_CLK_TCK")
# bench/floor.sh's measuring sticks (bench/floor/*.java): peer -> (main class, port outside the harness' fixed ones)
FLOOR = "netty-floor"         # FrameRelay: Netty's HTTP/2 codec relaying frames on both sides
VERTX_FRONT = "vertx-front"   # VertxFront: Vert.x's HTTP/2 server in front of FrameRelay's origin side
FLOORS = {FLOOR: ("FrameRelay", 8460), VERTX_FRONT: ("VertxFront", 8461)}
# HAProxy told to add the request headers Muxgate's contract makes it add (DESIGN.md, "Headers"): the harness'
# HAProxy adds none, and on this origin those four headers cost Node several µs per request, on the core that
# sets the 1 KiB ceiling. Same binary, port and config otherwise; (f) runs it beside plain HAProxy.
HAPROXY_FWD = "haproxy-fwd"
HAPROXY_FWD_LINES = ("    option forwardfor\n"
                     "    http-request set-header X-Forwarded-Proto https\n"
                     "    http-request set-header X-Forwarded-Host %[req.hdr(host)]\n"
                     "    http-request add-header Via \"2 haproxy\"\n")
JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")       # HotSpot names, cut to 15 chars by /proc comm
GC_THREADS = ("GC Thread", "VM Thread")                     # VM Thread runs Serial GC (chosen on one core)


def children_cpu():
    """utime+stime of the children this process has reaped (h2load, curl)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def thread_cpu(pids):
    """{(pid, tid): (thread name, utime+stime s)} for every thread of these processes."""
    out = {}
    for p in pids:
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/stat") as f:
                    st = f.read()
                with open(f"/proc/{p}/task/{t}/comm") as f:
                    name = f.read().strip()
                fields = st[st.rindex(")") + 2:].split()    # fields[0] is field 3 (state)
                out[(p, t)] = (name, (int(fields[11]) + int(fields[12])) / HZ)
            except (OSError, ValueError, IndexError):
                pass
    return out


def thread_kind(name):
    if name.startswith(JIT_THREADS):
        return "jit"
    if name.startswith(GC_THREADS) or "G1" in name:
        return "gc"
    return None


def thread_cpu_delta(t0, t1):
    """CPU between two thread_cpu() snapshots: (jit s, gc s, {thread name: s}). A thread that started in
    between counts from zero; one that ended in between is missing here (the process total still has it)."""
    jit = gc = 0.0
    by_name = {}
    for k, (name, s1) in t1.items():
        d = s1 - t0[k][1] if k in t0 else s1
        by_name[name] = by_name.get(name, 0.0) + d
        kind = thread_kind(name)
        if kind == "jit":
            jit += d
        elif kind == "gc":
            gc += d
    return jit, gc, by_name


def shjoin(argv):
    return " ".join(shlex.quote(a) for a in argv)


# ---------------------------------------------------------------- runner
class Runner:
    def __init__(self, bench, out_path):
        self.b = bench
        self.out_path = out_path
        self.pin = "pinned" if env("PIN", "1") in ("1", "both") else "unpinned"
        self.proxy_cpu = env("PROXY_CPU", "0")
        self.client_cpu = env("CLIENT_CPU", "1")
        self.rounds = int(env("EXTRA_ROUNDS", 3))                   # rounds of (e)
        self.idle_rounds = int(env("IDLE_ROUNDS", self.rounds))      # rounds of (d): RSS varies little
        self.idle_conns = int(env("IDLE_CONNS", 2000))
        self.idle_settle = float(env("IDLE_SETTLE_S", 1.0))
        self.idle_workers = int(env("IDLE_WORKERS", 16))
        self.h1_conns = int(env("H1_CONNS", 128))
        self.duration = int(env("EXTRA_DURATION", env("DURATION", 5)))
        self.warmup = int(env("EXTRA_WARMUP", env("WARMUP", 5)))
        self.upstream = env("EXTRA_UPSTREAM", "tls")
        cand = [bench.CANDIDATE_NAME] if bench.CANDIDATE_CMD else []
        peers = [p for p in env("PEERS", "direct haproxy caddy apache nginx").split() if p != "direct"]
        self.idle_targets = env("IDLE_TARGETS", " ".join(peers + cand)).split()
        h1_default = (["direct"] if "direct" in env("PEERS", "direct").split() else []) + peers + cand
        self.h1_targets = env("H1_TARGETS", " ".join(h1_default)).split()
        self.steady_targets = env("STEADY_TARGETS", " ".join(["haproxy", HAPROXY_FWD] + cand)).split()
        self.steady_rounds = int(env("STEADY_ROUNDS", 1))
        self.steady_warm = int(env("STEADY_WARM_S", 20))
        self.steady_sessions = max(1, int(env("STEADY_WARM_SESSIONS", 4)))
        self.steady_s = int(env("STEADY_S", 5))
        self.tests = env("EXTRA_TESTS", "idle h1 steady").split()
        self.floor_classpath = env("FLOOR_CLASSPATH", "")          # set by bench/floor.sh
        if self.floor_classpath:
            for peer, (_, port) in FLOORS.items():
                bench.PORTS[peer] = port                            # so the harness' target_url() knows them
        bench.PORTS[HAPROXY_FWD] = bench.PORTS["haproxy"]           # never both at once: targets run in turn
        self.origin = None

    # -- origin
    def start_origin(self):
        b = self.b
        ports = [b.ORIGIN_TLS_PORT, b.ORIGIN_H2C_PORT, b.ORIGIN_H1_PORT, b.ORIGIN_ADMIN_PORT] + list(b.PORTS.values())
        if b.CANDIDATE_CMD:
            ports.append(b.CANDIDATE_PORT)
        for port in ports:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                    sys.exit(f"port {port} already in use on 127.0.0.1 — stop whatever listens there first")
            except OSError:
                pass
        cmd = ["node", os.path.join(b.BENCH, "origin", "origin.js")]
        oenv = dict(os.environ, ORIGIN_MAX_STREAMS=str(b.MAX_STREAMS), ORIGIN_CERT_DIR=b.CERTS,
                    ORIGIN_TLS_PORT=str(b.ORIGIN_TLS_PORT), ORIGIN_H2C_PORT=str(b.ORIGIN_H2C_PORT),
                    ORIGIN_H1_PORT=str(b.ORIGIN_H1_PORT), ORIGIN_ADMIN_PORT=str(b.ORIGIN_ADMIN_PORT),
                    ORIGIN_MAX_LIFETIME_S="3600")
        olog = open(os.path.join(b.OUT_DIR, "origin.log"), "w")
        self.origin = subprocess.Popen(cmd, stdout=olog, stderr=subprocess.STDOUT, env=oenv, start_new_session=True)
        if not b.wait_port(b.ORIGIN_ADMIN_PORT, 10, self.origin) or not b.wait_port(b.ORIGIN_TLS_PORT, 5, self.origin):
            raise RuntimeError("origin did not start; see " + os.path.join(b.OUT_DIR, "origin.log"))
        cpus = {int(self.client_cpu)} if self.pin == "pinned" else set(range(os.cpu_count()))
        self.b.set_affinity_all_threads(self.origin.pid, cpus)
        time.sleep(0.3)

    def stop_origin(self):
        if self.origin is not None:
            self.b.stop_tree(self.origin, "origin")
            self.origin = None

    # -- proxy
    def floor_spec(self, peer):
        """(argv, port, env, config, start timeout) of a measuring-stick relay, with Muxgate's JVM flags."""
        b = self.b
        if not self.floor_classpath:
            raise RuntimeError(f"{peer} needs FLOOR_CLASSPATH (run it through bench/floor.sh)")
        main_class, port = FLOORS[peer]
        java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
        jvm_options = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "conf",
                                   "jvm.options")
        # Vert.x turns Netty's leak detection off; the floor must not pay for its sampled stack traces either
        argv = [java, "-Dio.netty.leakDetection.level=disabled", "-Xms256m", "-Xmx256m",
                "-XX:+ExitOnOutOfMemoryError", "@" + os.path.normpath(jvm_options), "-cp", self.floor_classpath,
                main_class, str(port), os.path.join(b.CERTS, "cert.pem"), os.path.join(b.CERTS, "key.pem"),
                b.ORIGIN_HOST, str(b.ORIGIN_TLS_PORT)]
        return argv, port, {}, None, 30

    def haproxy_fwd_spec(self):
        """The harness' HAProxy with HAPROXY_FWD_LINES in its frontend."""
        argv, port, extra, cfg, start_timeout = self.b.proxy_spec("haproxy", self.upstream)
        with open(cfg) as f:
            text = f.read()
        bind = re.search(r"^\s*bind .*\n", text, re.M)
        if not bind:
            raise RuntimeError(f"no bind line in {cfg}")
        fwd_cfg = os.path.join(os.path.dirname(cfg), f"{HAPROXY_FWD}-{self.upstream}.cfg")
        with open(fwd_cfg, "w") as f:
            f.write(text[:bind.end()] + HAPROXY_FWD_LINES + text[bind.end():])
        return [fwd_cfg if a == cfg else a for a in argv], port, extra, fwd_cfg, start_timeout

    def start_proxy(self, peer, tag, env_over=None):
        b = self.b
        if peer in FLOORS:
            spec = self.floor_spec(peer)
        elif peer == HAPROXY_FWD:
            spec = self.haproxy_fwd_spec()
        else:
            spec = b.proxy_spec(peer, self.upstream)
        argv, port, extra, cfg, start_timeout = spec
        full = b.taskset(self.proxy_cpu, argv, self.pin)
        e = dict(os.environ)
        e.update(extra)
        e.update(env_over or {})
        errf = open(os.path.join(b.RAW_DIR, tag + ".proxy.log"), "w")
        proc = subprocess.Popen(full, stdout=errf, stderr=subprocess.STDOUT, env=e,
                                start_new_session=True, cwd=b.RUN_DIR)
        if not b.wait_port(port, start_timeout, proc):
            b.stop_tree(proc, peer)
            raise RuntimeError(f"proxy did not listen on {port} (exit={proc.poll()})")
        time.sleep(0.3)
        return proc, port, shjoin(full)

    def url(self, peer, path):
        return self.b.target_url(peer, self.upstream, path)

    def origin_reset(self):
        self.b.origin_admin("/reset")

    # -- (d) idle connections
    def idle_run(self, peer, rnd):
        b = self.b
        tag = f"idle-r{rnd}-{peer}-{self.upstream}"
        rec = {"test": "idle", "round": rnd, "peer": peer, "upstream": self.upstream, "tag": tag,
               "target_conns": self.idle_conns, "time": time.time()}
        proc, socks = None, []
        try:
            proc, port, rec["proxy_cmd"] = self.start_proxy(peer, tag)
            s = b.sanity(self.url(peer, "/1k"))               # the one warm request
            rec["sanity"] = s
            if not s.startswith("200"):
                raise RuntimeError(f"sanity request failed: {s!r}")
            time.sleep(0.5)
            pids = b.tree(proc.pid)
            rec["rss_base_mb"] = b.rss_mb(pids)
            cpu0 = b.cpu_seconds(pids)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            errors = {}
            t0 = time.time()
            deadline = t0 + float(env("IDLE_OPEN_TIMEOUT_S", 60))
            max_fail = int(env("IDLE_MAX_FAILURES", 16))
            conn_timeout = float(env("IDLE_CONN_TIMEOUT_S", 3))
            lock = threading.Lock()
            failed = [0]

            def one(_):
                if time.time() > deadline:
                    return None, "not tried: open phase deadline"
                if failed[0] >= max_fail:
                    return None, f"not tried: stopped after {max_fail} failures"
                try:
                    return open_h2_idle(port, ctx, conn_timeout), None
                except Exception as ex:  # noqa: BLE001 (count and go on)
                    with lock:
                        failed[0] += 1
                    return None, f"{type(ex).__name__}: {ex}"[:80]

            with ThreadPoolExecutor(max_workers=self.idle_workers) as ex:
                for sock, err in ex.map(one, range(self.idle_conns)):
                    if sock is not None:
                        socks.append(sock)
                    else:
                        errors[err] = errors.get(err, 0) + 1
            rec["open_s"] = time.time() - t0
            rec["opened"] = len(socks)
            rec["open_errors"] = errors
            time.sleep(self.idle_settle)
            pids = sorted(set(pids) | set(b.tree(proc.pid)))
            samples = []
            for _ in range(3):
                samples.append(b.rss_mb(pids))
                time.sleep(0.2)
            rec["rss_conns_mb"] = statistics.median(samples)
            rec["held"] = client_estab(port)
            rec["server_estab"] = b.kernel_estab(port)
            rec["proxy_cpu_open_s"] = b.cpu_seconds(pids) - cpu0
            held = rec["held"] if rec["held"] > 0 else 0
            # per-connection figure only over a meaningful number of held connections
            rec["kb_per_conn"] = ((rec["rss_conns_mb"] - rec["rss_base_mb"]) * 1024 / held
                                  if held and held >= min(100, 0.5 * self.idle_conns) else None)
            rec["proxy_nprocs"] = len([p for p in pids if os.path.exists(f"/proc/{p}")])
        except Stop:
            raise
        except Exception as ex:  # noqa: BLE001 (keep going with the other targets)
            rec["error"] = f"{type(ex).__name__}: {ex}"
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
            if proc is not None:
                b.stop_tree(proc, peer)
        return rec

    # -- load runs: one h2load run and the CPU around it
    def run_load(self, cmd, limit_s, proc=None, pids=()):
        """Runs h2load (killed after limit_s or when we are stopped); samples the proxy tree's RSS meanwhile
        when proc is given. Returns (output, proxy pids seen, peak RSS MB, error or None)."""
        b = self.b
        pids, rss_peak, err = list(pids), 0.0, None
        hp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
        try:
            limit = time.time() + limit_s
            while hp.poll() is None and time.time() < limit:
                if proc is not None:
                    pids = sorted(set(pids) | set(b.tree(proc.pid)))
                    rss_peak = max(rss_peak, b.rss_mb(pids))
                time.sleep(0.5)
            if hp.poll() is None:
                err = "h2load exceeded its time limit; killed"
                hp.kill()
            out = hp.communicate(timeout=30)[0]
        finally:
            if hp.poll() is None:
                hp.kill()
                hp.wait(10)
        return out, pids, rss_peak, err

    def cpu_snapshot(self, pids):
        """Counters read just before and just after a measured window (pids: the proxy's, may be empty)."""
        b = self.b
        return {"t": time.time(), "proxy": b.cpu_seconds(pids), "origin": b.cpu_seconds([self.origin.pid]),
                "client": children_cpu(), "stat": b.proc_stat()}

    @staticmethod
    def window_cpu(s0, s1, with_proxy):
        """CPU seconds of origin, h2load (and proxy) between two snapshots, and foreign_cpu_pct: the machine's
        busy time that none of them used, minus irq/softirq and steal (charged to no process on this kernel),
        in % of one core. The warm-up h2load was reaped before s0, so client_cpu_s is the measured run's."""
        busy, steal, irq = (x1 - x0 for x0, x1 in zip(s0["stat"]["cpu"], s1["stat"]["cpu"]))
        w = {"origin_cpu_s": s1["origin"] - s0["origin"], "client_cpu_s": s1["client"] - s0["client"],
             "wall_s": s1["t"] - s0["t"]}
        if with_proxy:
            w["proxy_cpu_s"] = s1["proxy"] - s0["proxy"]
        ours = w["origin_cpu_s"] + w["client_cpu_s"] + w.get("proxy_cpu_s", 0)
        w["foreign_cpu_pct"] = max(0.0, busy - ours - irq - steal) / w["wall_s"] * 100.0
        return w

    def load_result(self, rec, out, logf):
        """h2load's counters and latency percentiles into rec; the origin's counters after the run."""
        b = self.b
        with open(os.path.join(b.RAW_DIR, rec["tag"] + ".h2load.txt"), "w") as f:
            f.write(rec["h2load_cmd"] + "\n" + out)
        rec.update(b.parse_h2load(out))
        rec.update(b.latency_from_log(logf))
        try:
            os.unlink(logf)
        except OSError:
            pass
        return b.origin_admin("/stats")

    # -- (e) HTTP/1.1 clients
    def h1_run(self, peer, rnd):
        b = self.b
        tag = f"h1-r{rnd}-{peer}-{self.upstream}"
        rec = {"test": "h1", "round": rnd, "peer": peer, "upstream": self.upstream, "tag": tag, "time": time.time()}
        proc, pids = None, []
        try:
            if peer == "direct":
                url = f"https://127.0.0.1:{b.ORIGIN_TLS_PORT}/1k"
            else:
                proc, port, rec["proxy_cmd"] = self.start_proxy(peer, tag)
                url = f"https://127.0.0.1:{port}/1k"
            out = subprocess.run(["curl", "-sk", "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                                  "--max-time", "5", url], capture_output=True, text=True, timeout=10).stdout.strip()
            rec["sanity"] = out
            if not out.startswith("200"):
                raise RuntimeError(f"sanity request failed: {out!r}")
            self.origin_reset()
            if proc is not None:
                pids = b.tree(proc.pid)
            logf = os.path.join(b.RAW_DIR, tag + ".h2load.log")
            cmd = b.taskset(self.client_cpu, ["h2load", "--h1", "-t", "1", "-c", str(self.h1_conns), "-m", "1",
                                              "-D", str(self.duration), "--warm-up-time", str(self.warmup),
                                              "--log-file", logf, url], self.pin)
            rec["h2load_cmd"] = shjoin(cmd)
            s0 = self.cpu_snapshot(pids)
            out, pids, rss_peak, err = self.run_load(cmd, self.duration + self.warmup + 60, proc, pids)
            s1 = self.cpu_snapshot(pids)
            if err:
                rec["error"] = err
            ost = self.load_result(rec, out, logf)
            # h2load 1.52 records an HTTP/1.1 status only when the status line has a reason phrase; HAProxy
            # sends "HTTP/1.1 200 " (empty reason), so all its requests count as "failed" with no status.
            if rec.get("done") and not any(rec.get(k) for k in ("s2xx", "s3xx", "s4xx", "s5xx")):
                rec["status_unparsed"] = True
            rec["origin_requests"] = ost["total_requests"]
            rec["origin_conns_opened"] = ost["tls"]["tcp_accepted"]
            rec["origin_h2_sessions"] = ost["tls"]["h2_sessions"]
            rec["origin_h1_requests"] = ost["tls"]["h1_requests"]
            rec["origin_max_streams_one_conn"] = ost["tls"]["max_streams_one_conn"]
            rec.update(self.window_cpu(s0, s1, proc is not None))
            if proc is not None:
                rec["proxy_rss_peak_mb"] = max(b.peak_rss_mb(pids), rss_peak)
                if rec["origin_requests"]:
                    rec["us_req"] = rec["proxy_cpu_s"] / rec["origin_requests"] * 1e6
        except Stop:
            raise
        except Exception as ex:  # noqa: BLE001
            rec["error"] = f"{type(ex).__name__}: {ex}"
        finally:
            if proc is not None:
                b.stop_tree(proc, peer)
        return rec

    # -- (f) steady state
    def steady_run(self, peer, rnd):
        b = self.b
        tag = f"steady-r{rnd}-{peer}-{self.upstream}"
        rec = {"test": "steady", "round": rnd, "peer": peer, "upstream": self.upstream, "tag": tag,
               "warm_s": self.steady_warm, "warm_sessions": self.steady_sessions, "steady_s": self.steady_s,
               "time": time.time()}
        proc = None
        try:
            # (f) warms the proxy with the measured load itself; Muxgate's start-up warm-up would only add time
            proc, port, rec["proxy_cmd"] = self.start_proxy(peer, tag, {"MUXGATE_WARMUP_S": "0"})
            url = self.url(peer, "/1k")
            rec["sanity"] = b.sanity(url)
            if not rec["sanity"].startswith("200"):
                raise RuntimeError(f"sanity request failed: {rec['sanity']!r}")
            load = ["h2load", "-t", "1", "-c", "8", "-m", "32"]             # the harness' `small` load
            # Several sessions, not one: a JVM that has only seen one set of client connections recompiles
            # when they close and new ones open, which a long-running proxy did long ago.
            session_s = max(1, self.steady_warm // self.steady_sessions)
            warm = b.taskset(self.client_cpu, load + ["-D", str(session_s), url], self.pin)
            rec["warm_cmd"] = f"{self.steady_sessions} x {shjoin(warm)}"
            for _ in range(self.steady_sessions):
                _, _, _, err = self.run_load(warm, session_s + 60)
                if err:
                    raise RuntimeError("warm-up: " + err)
            self.origin_reset()
            logf = os.path.join(b.RAW_DIR, tag + ".h2load.log")
            cmd = b.taskset(self.client_cpu, load + ["-D", str(self.steady_s), "--warm-up-time", "1",
                                                     "--log-file", logf, url], self.pin)
            rec["h2load_cmd"] = shjoin(cmd)
            pids = b.tree(proc.pid)
            th0, s0 = thread_cpu(pids), self.cpu_snapshot(pids)
            # no RSS sampling here: it would scan /proc every 0.5 s on the client core during the window
            out, _, _, err = self.run_load(cmd, self.steady_s + 61)
            pids = sorted(set(pids) | set(b.tree(proc.pid)))
            s1, th1 = self.cpu_snapshot(pids), thread_cpu(pids)
            if err:
                rec["error"] = err
            ost = self.load_result(rec, out, logf)
            rec["origin_requests"] = ost["total_requests"]
            rec["errors"] = rec.get("failed", 0)        # h2load: errored and timeout are subsets of failed
            rec.update(self.window_cpu(s0, s1, True))
            rec["jit_cpu_s"], rec["gc_cpu_s"], by_name = thread_cpu_delta(th0, th1)
            rec["threads_cpu_s"] = {n: round(v, 3) for n, v in sorted(by_name.items(), key=lambda x: -x[1])[:8]}
            rec["proxy_rss_mb"] = b.rss_mb(pids)
            if rec["origin_requests"]:
                rec["us_req"] = rec["proxy_cpu_s"] / rec["origin_requests"] * 1e6
        except Stop:
            raise
        except Exception as ex:  # noqa: BLE001
            rec["error"] = f"{type(ex).__name__}: {ex}"
        finally:
            if proc is not None:
                b.stop_tree(proc, peer)
        return rec

    def run(self):
        plan = []
        for rnd in range(1, max(self.rounds, self.idle_rounds) + 1):
            if "idle" in self.tests and rnd <= self.idle_rounds:
                plan += [("idle", p, rnd) for p in self.idle_targets]
            if "h1" in self.tests and rnd <= self.rounds:
                plan += [("h1", p, rnd) for p in self.h1_targets]
        if "steady" in self.tests:
            plan += [("steady", p, rnd) for rnd in range(1, self.steady_rounds + 1) for p in self.steady_targets]
        secs = {"idle": 8, "h1": self.duration + self.warmup + 1.5, "steady": self.steady_warm + self.steady_s + 4}
        est = sum(secs[t] for t, _, _ in plan)
        est = int(est + 3 * sum(1 for _, p, _ in plan if p == self.b.CANDIDATE_NAME))   # JVM start
        on = lambda t, targets: targets if t in self.tests else "-"
        log(f"{len(plan)} runs (idle: {on('idle', self.idle_targets)}; h1: {on('h1', self.h1_targets)}; "
            f"steady: {on('steady', self.steady_targets)}), {self.idle_rounds} idle / {self.rounds} h1 / "
            f"{self.steady_rounds} steady round(s), ~{est // 60} min {est % 60} s")
        if self.pin == "pinned":
            try:
                os.sched_setaffinity(0, {int(self.client_cpu)})   # the idle client runs on the client core
            except OSError:
                pass
        runs = {"idle": self.idle_run, "h1": self.h1_run, "steady": self.steady_run}
        with open(self.out_path, "a") as f:
            self.start_origin()
            try:
                for i, (test, peer, rnd) in enumerate(plan, 1):
                    rec = runs[test](peer, rnd)
                    f.write(json.dumps(rec) + "\n")
                    f.flush()
                    log(f"[{i}/{len(plan)}] {rec['tag']}: " + summary_line(rec, self.idle_conns))
            finally:
                self.stop_origin()


def summary_line(rec, idle_conns):
    if rec.get("error"):
        return f"ERROR {rec['error']}"
    test = rec["test"]
    if test == "idle":
        kb = rec.get("kb_per_conn")
        return (f"rss {rec['rss_base_mb']:.1f} -> {rec['rss_conns_mb']:.1f} MB with {rec['held']}/{idle_conns} conns "
                f"held ({rec['opened']} opened in {rec['open_s']:.1f}s"
                f"{', errors ' + str(rec['open_errors']) if rec['open_errors'] else ''}), "
                f"{'%.1f' % kb if kb is not None else '–'} KB/conn")
    head = f"{rec.get('rps', 0):,.0f} req/s p99 {rec.get('lat_p99_ms', 0):.2f} ms proxy {fmt(rec.get('us_req'), 1)} µs/req"
    if test == "steady":
        n = rec.get("origin_requests") or 0
        jit = rec["jit_cpu_s"] / n * 1e6 if n else None
        return (f"{head} (JIT {fmt(jit, 1)}, GC {fmt(rec['gc_cpu_s'] / n * 1e6 if n else None, 1)}) after "
                f"{rec['warm_s']} s warm-up, errors {rec.get('errors', 0)}, foreign CPU {rec['foreign_cpu_pct']:.0f}%")
    unparsed = rec.get("status_unparsed")
    errors = rec.get("errored", 0) + rec.get("timeout", 0) + (0 if unparsed else rec.get("failed", 0))
    return (f"{head}, origin conns {rec.get('origin_conns_opened')} (h2 sessions {rec.get('origin_h2_sessions')}), "
            f"errors {errors}{' (h2load could not parse the HTTP/1.1 status lines)' if unparsed else ''}")


# ---------------------------------------------------------------- report
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=1):
    if x is None:
        return "–"
    if isinstance(x, (int, float)):
        return f"{x:,.{nd}f}"
    return str(x)


def read_jsonl(path):
    out = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    return out


def harness_agg(runs):
    """(scenario, peer, upstream) -> medians over ok repetitions (pinned runs, or all when none pinned)."""
    pins = {r.get("pin") for r in runs}
    pin = "pinned" if "pinned" in pins else (sorted(pins)[0] if pins else None)
    agg = {}
    keys = []
    for r in runs:
        k = (r["scenario"], r["peer"], r["upstream"])
        if r.get("pin") == pin and k not in keys:
            keys.append(k)
    for k in keys:
        xs = [r for r in runs if (r["scenario"], r["peer"], r["upstream"]) == k and r.get("pin") == pin]
        ok = [r for r in xs if "rps" in r and not r.get("error")]
        a = {"n": len(ok), "N": len(xs)}
        for f in ("rps", "mbps", "lat_p50_ms", "lat_p99_ms", "proxy_rss_peak_mb", "origin_conns_opened",
                  "origin_conns_peak", "origin_max_streams_one_conn"):
            a[f] = med([r.get(f) for r in ok])
        a["us_req"] = med([r["proxy_cpu_s"] / r["origin_requests"] * 1e6 for r in ok
                           if r.get("proxy_cpu_s") is not None and r.get("origin_requests")])
        a["errors"] = sum(r.get("failed", 0) + r.get("errored", 0) + r.get("timeout", 0) + r.get("s4xx", 0)
                          + r.get("s5xx", 0) for r in ok)
        agg[k] = a
    return agg, pin


def per_req_us(r, field):
    return r[field] / r["origin_requests"] * 1e6 if r.get(field) is not None and r.get("origin_requests") else None


def extra_agg(recs):
    """(peer, upstream) -> medians over ok rounds, for each of idle, h1, steady."""
    idle, h1, steady = {}, {}, {}
    for test, dst in (("idle", idle), ("h1", h1), ("steady", steady)):
        keys = []
        for r in recs:
            if r.get("test") == test and (r["peer"], r["upstream"]) not in keys:
                keys.append((r["peer"], r["upstream"]))
        for k in keys:
            xs = [r for r in recs if r.get("test") == test and (r["peer"], r["upstream"]) == k]
            ok = [r for r in xs if not r.get("error")]
            a = {"n": len(ok), "N": len(xs), "errs": sorted({r["error"] for r in xs if r.get("error")})}
            if test == "idle":
                for f in ("rss_base_mb", "rss_conns_mb", "held", "opened", "kb_per_conn", "open_s", "target_conns",
                          "proxy_cpu_open_s"):
                    a[f] = med([r.get(f) for r in ok])
                oe = {}
                for r in ok:
                    for e, c in (r.get("open_errors") or {}).items():
                        oe[e] = oe.get(e, 0) + c
                a["open_errors"] = oe
            elif test == "steady":
                ok = [r for r in ok if "rps" in r]
                a["n"] = len(ok)
                for f in ("rps", "lat_p50_ms", "lat_p99_ms", "us_req", "origin_requests", "warm_s", "steady_s",
                          "proxy_rss_mb"):
                    a[f] = med([r.get(f) for r in ok])
                a["origin_us_req"] = med([per_req_us(r, "origin_cpu_s") for r in ok])
                for f in ("jit", "gc"):
                    a[f + "_us_req"] = med([per_req_us(r, f + "_cpu_s") for r in ok])
                    a[f + "_share"] = med([r[f + "_cpu_s"] / r["proxy_cpu_s"] for r in ok if r.get("proxy_cpu_s")])
                a["errors"] = sum(r.get("errors", 0) for r in ok)
            else:
                ok = [r for r in ok if "rps" in r]
                for r in ok:
                    if r.get("done") and not any(r.get(x) for x in ("s2xx", "s3xx", "s4xx", "s5xx")):
                        r["status_unparsed"] = True
                a["n"] = len(ok)
                for f in ("rps", "mbps", "lat_p50_ms", "lat_p99_ms", "us_req", "proxy_rss_peak_mb",
                          "origin_conns_opened", "origin_h2_sessions", "origin_h1_requests", "origin_requests"):
                    a[f] = med([r.get(f) for r in ok])
                a["cv"] = (statistics.pstdev([r["rps"] for r in ok]) / statistics.mean([r["rps"] for r in ok]) * 100
                           if len(ok) > 1 else None)
                a["errors"] = sum((0 if r.get("status_unparsed") else r.get("failed", 0)) + r.get("errored", 0)
                                  + r.get("timeout", 0) + r.get("s4xx", 0) + r.get("s5xx", 0) for r in ok)
                a["status_unparsed"] = any(r.get("status_unparsed") for r in ok)
            dst[k] = a
    return idle, h1, steady


def label(peer, up):
    if peer == "direct":
        return "direct (no proxy)"
    if peer in FLOORS:
        peer = f"{peer} (bench/floor)"
    if peer == HAPROXY_FWD:
        peer = "haproxy + forwarding headers"
    return peer if up == "tls" else f"{peer} (h2c backend)"


def build_report(args):
    harness_md = args.harness_md
    hdir = os.path.splitext(harness_md)[0] if harness_md else None
    hruns = read_jsonl(os.path.join(hdir, "runs.jsonl")) if hdir else []
    erecs = read_jsonl(args.extra)
    hagg, pin = harness_agg(hruns)
    idle, h1, steady = extra_agg(erecs)
    scen = [s for s in ("small", "delay", "big") if any(k[0] == s for k in hagg)]
    targets = []
    for (s, p, u) in hagg:
        if (p, u) not in targets:
            targets.append((p, u))
    for (p, u) in list(h1) + list(idle) + list(steady):
        if (p, u) not in targets:
            targets.append((p, u))
    cand = os.environ.get("CANDIDATE_NAME", "muxgate")
    # order: direct, candidate, haproxy, the rest
    order = {"direct": 0, cand: 1, VERTX_FRONT: 1.4, FLOOR: 1.5, "haproxy": 2, HAPROXY_FWD: 2.5, "nginx": 3, "caddy": 4, "apache": 5}
    targets.sort(key=lambda t: (t[1] != "tls", order.get(t[0], 9), t[0]))

    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    L = [f"# Muxgate bench — {now}\n"]
    L.append(f"Host: {os.uname().nodename}, {os.cpu_count()} cores, {cpu_model()}. Loopback only; client side "
             "h2 over TLS (ALPN) except the HTTP/1.1 column; proxy → origin h2 over TLS (nginx: HTTP/1.1 over TLS). "
             f"Harness runs: {pin or '–'}; proxies on CPU {env('PROXY_CPU', '0')}, h2load + origin (+ idle client) "
             f"on CPU {env('CLIENT_CPU', '1')}. Muxgate build: {env('BENCH_PROJECT_REV', '?')}; JVM flags: "
             f"`{env('MUXGATE_JAVA_OPTS', '-Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError @conf/jvm.options')}`.\n")
    L.append("## Summary\n")
    L.append("Medians over repetitions. **µs/req** = proxy CPU (utime+stime of its process tree over the whole h2load "
             "run, warm-up included) ÷ requests the origin served in that time (warm-up included). "
             "**idle RSS** = proxy RSS after one request; **+N idle** = RSS with N idle h2+TLS client connections "
             "open; **KB/conn** = the difference ÷ connections held. "
             + ("**steady** = the `small` load against a proxy that has already served "
                f"{fmt(med([a['warm_s'] for a in steady.values()]), 0)} s of it (section (f)), i.e. what a proxy "
                "that runs for days costs; the harness columns start every proxy fresh for each short run, so for "
                "a JVM they include most of its JIT compilation. " if steady else "")
             + "The Node origin is the ceiling (see `direct`): a proxy at the direct figure is not the bottleneck, "
             "compare those by µs/req.\n")
    n_idle = med([a.get("target_conns") for a in idle.values()])
    n_idle = int(n_idle) if n_idle else int(env("IDLE_CONNS", 2000))
    hdr = ["proxy"]
    if "small" in scen:
        hdr += ["small 1 KiB req/s", "small p99 ms", "small µs/req"]
    if steady:
        hdr += ["steady 1 KiB req/s", "steady µs/req"]
    if "delay" in scen:
        hdr += ["delay req/s (ceiling 5,000)", "delay origin conns opened / peak"]
    if "big" in scen:
        hdr += ["big 64 KiB MB/s", "big µs/req"]
    if h1:
        hdr += ["HTTP/1.1 clients req/s", "h1 µs/req"]
    if idle:
        hdr += ["idle RSS MB", f"RSS MB +{n_idle:,} idle", "KB/conn"]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    for (p, u) in targets:
        row = [f"**{label(p, u)}**" if p == cand else label(p, u)]
        g = lambda s: hagg.get((s, p, u), {})
        if "small" in scen:
            row += [fmt(g("small").get("rps"), 0), fmt(g("small").get("lat_p99_ms"), 2), fmt(g("small").get("us_req"), 1)]
        if steady:
            a = steady.get((p, u), {})
            row += [fmt(a.get("rps"), 0), fmt(a.get("us_req"), 1)]
        if "delay" in scen:
            d = g("delay")
            oc = (f"{fmt(d.get('origin_conns_opened'), 0)} / {fmt(d.get('origin_conns_peak'), 0)}"
                  if d.get("origin_conns_opened") is not None and p != "direct" else "–")
            row += [fmt(d.get("rps"), 0), oc]
        if "big" in scen:
            row += [fmt(g("big").get("mbps"), 1), fmt(g("big").get("us_req"), 1)]
        if h1:
            a = h1.get((p, u), {})
            row += [fmt(a.get("rps"), 0), fmt(a.get("us_req"), 1)]
        if idle:
            a = idle.get((p, u), {})
            held = a.get("held")
            plus = fmt(a.get("rss_conns_mb"), 1)
            if held is not None and a.get("target_conns") and held < a["target_conns"]:
                plus += f" ({int(held):,} held)"
            row += [fmt(a.get("rss_base_mb"), 1), plus, fmt(a.get("kb_per_conn"), 1)]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    fc = {}
    for r in hruns + [r for r in erecs if r.get("test") in ("h1", "steady")]:
        if r.get("foreign_cpu_pct") is not None:
            fc.setdefault(label(r["peer"], r["upstream"]), []).append(r["foreign_cpu_pct"])
    if fc:
        allf = sorted(x for v in fc.values() for x in v)
        kinds = ", ".join(k for k, on in (("harness", hruns), ("HTTP/1.1", h1), ("steady", steady)) if on)
        L.append(f"Noise: CPU used by other processes on the machine during the load runs ({kinds}; % of "
                 f"one core; the proxy's core is shared with them): median {statistics.median(allf):.0f}%, max "
                 f"{allf[-1]:.0f}%; median by target: "
                 + ", ".join(f"{t} {statistics.median(v):.0f}%" for t, v in fc.items())
                 + (". **Runs above 20% are unreliable; rerun on a quiet machine.**" if statistics.median(allf) > 20 else "")
                 + "\n")
    if hagg:
        errs = [(label(p, u), s, a["errors"], a["n"], a["N"]) for (s, p, u), a in hagg.items()
                if a["errors"] or a["n"] < a["N"]]
        if errs:
            L.append("Harness runs with errors or failures: " + "; ".join(
                f"{t} {s}: {e} request errors, {n}/{N} runs ok" for t, s, e, n, N in errs) + "\n")

    if idle:
        L.append(f"## (d) {n_idle:,} idle h2 TLS client connections: proxy memory\n")
        L.append("Per round: fresh proxy, one warm request through it, RSS (sum over the proxy's processes, "
                 f"from /proc/<pid>/statm) = idle baseline; then {n_idle:,} connections opened from one Python client "
                 f"({env('IDLE_WORKERS', 16)} at a time): TLS, ALPN h2, client preface + SETTINGS, server SETTINGS "
                 f"acknowledged, then idle; RSS again {env('IDLE_SETTLE_S', 1.0)} s later. Held = client sockets still "
                 "ESTABLISHED (ss) at that moment. Medians over rounds.\n")
        L.append("| proxy | idle RSS MB | RSS MB with connections | held / opened / wanted | KB per held conn | "
                 "open time s | proxy CPU s for the handshakes | rounds ok | open errors |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for (p, u) in targets:
            a = idle.get((p, u))
            if not a:
                continue
            oe = "; ".join(f"{k} ×{v}" for k, v in a["open_errors"].items()) or "–"
            if a["errs"]:
                oe += " | failed rounds: " + "; ".join(a["errs"])
            L.append(f"| {label(p, u)} | {fmt(a['rss_base_mb'], 1)} | {fmt(a['rss_conns_mb'], 1)} | "
                     f"{fmt(a['held'], 0)} / {fmt(a['opened'], 0)} / {fmt(a['target_conns'], 0)} | "
                     f"{fmt(a['kb_per_conn'], 1)} | {fmt(a['open_s'], 1)} | {fmt(a['proxy_cpu_open_s'], 2)} | "
                     f"{a['n']}/{a['N']} | {oe} |")
        L.append("\nnginx and Apache run a parent and a worker process: their RSS is the sum of both (shared pages "
                 "counted twice), which inflates the baseline but not much the per-connection figure.\n")
    if h1:
        h1r = [r for r in erecs if r.get("test") == "h1" and r.get("h2load_cmd")]
        D = h1r[0]["h2load_cmd"] if h1r else ""
        L.append("## (e) HTTP/1.1 clients, h2 origin\n")
        L.append(f"h2load `--h1 -t 1 -c {env('H1_CONNS', 128)} -m 1` on `/1k` (HTTP/1.1 over TLS, ALPN http/1.1, one "
                 "request at a time per connection) against each proxy; the proxies' origin side is the same as in "
                 "the harness (h2 over TLS; nginx HTTP/1.1 over TLS). `direct` = the origin's own HTTP/1.1-over-TLS "
                 "fallback. Medians over rounds.\n")
        L.append("| proxy | req/s | CV% | MB/s | p50 ms | p99 ms | proxy µs/req | proxy peak RSS MB | "
                 "origin conns opened | origin h2 sessions | errors | rounds ok |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (p, u) in targets:
            a = h1.get((p, u))
            if not a:
                continue
            L.append(f"| {label(p, u)} | {fmt(a['rps'], 0)} | {fmt(a['cv'])} | {fmt(a['mbps'])} | "
                     f"{fmt(a['lat_p50_ms'], 2)} | {fmt(a['lat_p99_ms'], 2)} | {fmt(a['us_req'], 1)} | "
                     f"{fmt(a['proxy_rss_peak_mb'], 1)} | {fmt(a['origin_conns_opened'], 0)} | "
                     f"{fmt(a['origin_h2_sessions'], 0)} | {a['errors']}{'*' if a['status_unparsed'] else ''} | "
                     f"{a['n']}/{a['N']} |"
                     + (" " + "; ".join(a["errs"]) if a["errs"] else ""))
        if any(a.get("status_unparsed") for a in h1.values()):
            L.append("\n\\* h2load 1.52 could not read these HTTP/1.1 status codes: it records a status only when the "
                     "status line has a reason phrase, and HAProxy sends `HTTP/1.1 200 ` with an empty one (valid HTTP; "
                     "curl reads 200). h2load then counts every response as \"failed\"; errors here = errored + "
                     "timeouts only. The responses were complete (byte counts match, origin served the requests).")
        if D:
            L.append(f"\nExample command: `{D.split(' --log-file')[0]} <url>`\n")
    L += steady_section(steady, targets, hagg, cand)
    L += repetitions_section(hruns, erecs, targets, cand)
    if args.png_rel:
        L.append(f"![req/s and proxy CPU µs per request]({args.png_rel})\n")
    if harness_md and os.path.exists(harness_md):
        L.append("## Shared harness report (scenarios small, delay, big)\n")
        L.append(f"Source: `{harness_md}`. Its `proxy µs/req` divides CPU over warm-up + main phase by the "
                 "main-phase requests only (so it reads high by about (WARMUP+DURATION)/DURATION); the summary "
                 "above divides by all requests the origin served instead.\n")
        with open(harness_md) as f:
            for line in f.read().splitlines():
                L.append(("##" + line) if line.startswith("#") else line)
    L.append("\n## Extras: exact commands\n")
    seen = set()
    for r in erecs:
        for k in ("proxy_cmd", "warm_cmd", "h2load_cmd"):
            c = r.get(k)
            if c:
                c2 = " ".join(x for x in c.split() if not x.endswith(".h2load.log")).replace("--log-file ", "--log-file <log> ")
                if c2 not in seen:
                    seen.add(c2)
                    L.append(f"- `{c2}`")
    return "\n".join(L) + "\n", hagg, idle, h1, targets, scen, cand


ORIGIN_COST_FLAG = 1.3   # flag a repetition whose origin spent this much more CPU per request than its target's best


def repetitions_section(hruns, erecs, targets, cand):
    """Every repetition's req/s next to the origin's CPU per request, so a median can be read with its spread.

    The origin (Node, on the client core with h2load) is the ceiling of the 1 KiB scenarios. In some
    repetitions it spends 1.5-2x its usual CPU per request, for tens of seconds at a time and with nothing in
    /proc/stat; whichever target runs then loses req/s and p99. An origin that batches less at a lower rate
    also costs more per request, so a flag says "read this repetition with care", not what caused it.
    """
    groups = {}
    for r in hruns:
        if r.get("scenario") and r.get("pin") in (None, "pinned"):
            groups.setdefault((r["scenario"], r["peer"], r["upstream"]), []).append(r)
    for r in erecs:
        if r.get("test") in ("h1", "steady"):
            groups.setdefault((r["test"], r["peer"], r["upstream"]), []).append(r)
    usable = lambda rs: [r for r in rs if per_req_us(r, "origin_cpu_s") is not None and r.get("rps")
                         and not r.get("error")]
    per_req = lambda r: per_req_us(r, "origin_cpu_s")
    rows, flagged, total = [], 0, 0
    for (t, p, u), rs in groups.items():
        rs = usable(rs)
        # steady runs the small scenario's load against a warm proxy: its one round is judged by those too
        peers = usable(groups.get(("small", p, u), [])) if t == "steady" else []
        if len(rs) + len(peers) < 2:
            continue
        cost = [per_req(r) for r in rs]
        best = min(cost + [per_req(r) for r in peers])
        slow = [c > ORIGIN_COST_FLAG * best for c in cost]
        flagged += sum(slow)
        total += len(rs)
        rows.append((t, p, u, rs, [f"{c:.0f}{'*' if x else ''}" for c, x in zip(cost, slow)]))
    if not rows:
        return []
    order = {(p, u): i for i, (p, u) in enumerate(targets)}
    rows.sort(key=lambda x: (x[0], order.get((x[1], x[2]), 99)))
    L = ["## Repetitions and the origin's CPU per request\n"]
    L.append(
        "The tables above give medians. Here is every repetition: its req/s and the origin's CPU µs per request, "
        f"`*` where that is more than {ORIGIN_COST_FLAG}× the same target's best repetition in the same test (the "
        "one steady round is also compared with the small runs, which carry the same load). The origin shares the "
        "client core with h2load and is the ceiling of the 1 KiB scenarios. In a flagged repetition it did more "
        "work per request: on this VM the client core's work has been seen taking ~1.5× longer for tens of "
        "seconds with no steal or foreign CPU in /proc/stat, and an origin also costs more per request when it "
        "batches less. That target's req/s and p99 are understated then, and its own CPU per request can read "
        f"high too (it batches less at the lower rate). Read a ratio built on a flagged repetition with care. "
        f"Flagged: {flagged} of {total}.\n")
    L.append("| test | target | req/s by repetition | origin µs/req by repetition |")
    L.append("|---|---|---|---|")
    for t, p, u, rs, marks in rows:
        name = f"**{label(p, u)}**" if p == cand else label(p, u)
        L.append(f"| {t} | {name} | {' / '.join(fmt(r['rps'], 0) for r in rs)} | {' / '.join(marks)} |")
    L.append("")
    return L


def steady_section(steady, targets, hagg, cand):
    if not steady:
        return []
    warm = fmt(med([a["warm_s"] for a in steady.values()]), 0)
    win = fmt(med([a["steady_s"] for a in steady.values()]), 0)
    L = ["## (f) Steady state: warm proxy, 1 KiB\n"]
    L.append(f"Per round: the proxy starts fresh (pinned as in the harness) and serves one request, then {warm} s of "
             "the `small` load (h2load `-t 1 -c 8 -m 32` on `/1k`, not measured), so a JVM's compilation is mostly "
             f"done; then the origin counters are reset and the same load is measured for {win} s (after a 1 s "
             "h2load warm-up). **µs/req** = all proxy CPU (utime+stime of its process tree) over the measured window "
             "÷ requests the origin served in it. **JIT** = the part used by the C1/C2 compiler threads (per-thread "
             "CPU from /proc/<pid>/task; 0 for proxies without a JIT). Medians over rounds.\n")
    L.append("| proxy | req/s | p50 ms | p99 ms | µs/req | of which JIT µs/req | origin µs/req | rounds ok |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for (p, u) in targets:
        a = steady.get((p, u))
        if not a:
            continue
        notes = ([f"{a['errors']:,} request errors"] if a["errors"] else []) + a["errs"]
        ok = f"{a['n']}/{a['N']}" + (" (" + "; ".join(notes).replace("|", "/") + ")" if notes else "")
        L.append(f"| {label(p, u)} | {fmt(a['rps'], 0)} | {fmt(a['lat_p50_ms'], 2)} | {fmt(a['lat_p99_ms'], 2)} | "
                 f"{fmt(a['us_req'], 1)} | {fmt(a['jit_us_req'], 1)} | {fmt(a.get('origin_us_req'), 1)} | {ok} |")
    fwd, cand_warm = steady.get((HAPROXY_FWD, "tls")), steady.get((cand, "tls"))
    if fwd and cand_warm and fwd.get("rps") and cand_warm.get("rps"):
        ratio = lambda x, y: None if x is None or not y else x / y
        L.append(f"\nLike for like: {label(HAPROXY_FWD, 'tls')} is the same HAProxy adding the four request headers "
                 f"{cand} adds by contract (x-forwarded-for, x-forwarded-proto, x-forwarded-host, via). {cand} ÷ it: "
                 f"req/s {fmt(ratio(cand_warm['rps'], fwd['rps']), 2)}×, p99 "
                 f"{fmt(ratio(cand_warm.get('lat_p99_ms'), fwd.get('lat_p99_ms')), 2)}×, CPU per request "
                 f"{fmt(ratio(cand_warm.get('us_req'), fwd.get('us_req')), 2)}×; the origin's CPU per request behind "
                 f"each: {fmt(cand_warm.get('origin_us_req'), 1)} vs {fmt(fwd.get('origin_us_req'), 1)} µs.")
    for (p, u) in targets:
        a = steady.get((p, u))
        if p != cand or not a or a.get("us_req") is None:
            continue
        fresh = hagg.get(("small", p, u), {}).get("us_req")
        pct = lambda x: None if x is None else x * 100
        L.append(f"\n{label(p, u)}: "
                 + (f"{fmt(fresh, 1)} µs/req in the fresh-process `small` runs (summary), {fmt(a['us_req'], 1)} "
                    "warm. " if fresh is not None else "")
                 + f"In the warm window its JIT compiler threads used {fmt(pct(a['jit_share']), 0)}% of its CPU and "
                 f"GC (GC and VM threads) {fmt(pct(a['gc_share']), 0)}%.")
    floor, front = steady.get((FLOOR, "tls")), steady.get((VERTX_FRONT, "tls"))
    haproxy, cand_warm = steady.get(("haproxy", "tls")), steady.get((cand, "tls"))
    if floor and floor.get("us_req") is not None:
        # compilation still running in the window is not what a relay costs; compare what is left
        net = lambda a: None if not a or a.get("us_req") is None else a["us_req"] - (a.get("jit_us_req") or 0)
        ratio = lambda x, y: None if x is None or not y else x / y
        diff = lambda x, y: None if x is None or y is None else x - y
        L.append(f"\nMeasuring sticks (bench/floor): {FLOOR} relays frames on Netty's HTTP/2 codec on both sides "
                 f"(no Vert.x, no features); {VERTX_FRONT} puts Vert.x's HTTP/2 server in front of the same origin "
                 f"side. CPU per request without JIT: {cand} {fmt(net(cand_warm), 1)} µs, {VERTX_FRONT} "
                 f"{fmt(net(front), 1)}, {FLOOR} {fmt(net(floor), 1)}, HAProxy {fmt(net(haproxy), 1)}. "
                 f"{cand} ÷ {FLOOR} {fmt(ratio(net(cand_warm), net(floor)), 2)}; {FLOOR} ÷ HAProxy "
                 f"{fmt(ratio(net(floor), net(haproxy)), 2)}. Vert.x's server side ({VERTX_FRONT} − {FLOOR}): "
                 f"{fmt(diff(net(front), net(floor)), 1)} µs; {cand}'s own work over that origin side, with its "
                 f"HTTP/2 origin streams as frames since 2512f74 (Vert.x's client streams before) "
                 f"({cand} − {VERTX_FRONT}): {fmt(diff(net(cand_warm), net(front)), 1)} µs.")
    L.append("")
    return L


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def chart(path, hagg, h1, targets, scen, cand):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed (apt-get install python3-matplotlib): no PNG chart")
        return False
    cols = [(s, {"small": "small 1 KiB (h2)", "delay": "delay 50 ms (h2)", "big": "big 64 KiB (h2)"}[s]) for s in scen]
    if h1:
        cols.append(("h1", "1 KiB, HTTP/1.1 clients"))
    if not cols:
        return False
    names = [t for t in targets]
    palette = {"direct": "#9e9e9e", cand: "#d62728", "haproxy": "#1f77b4", "nginx": "#2ca02c",
               "caddy": "#9467bd", "apache": "#ff7f0e"}
    fig, axes = plt.subplots(2, len(cols), figsize=(3.6 * len(cols) + 1, 7.2), squeeze=False)
    for j, (s, title) in enumerate(cols):
        for i, (metric, ylab) in enumerate((("rps", "req/s"), ("us_req", "proxy CPU µs / request"))):
            ax = axes[i][j]
            xs, ys, cs = [], [], []
            for (p, u) in names:
                a = h1.get((p, u), {}) if s == "h1" else hagg.get((s, p, u), {})
                v = a.get(metric)
                if v is None or (metric == "us_req" and p == "direct"):
                    continue
                xs.append(label(p, u).replace(" (no proxy)", "").replace(" (h2c backend)", "/h2c"))
                ys.append(v)
                cs.append(palette.get(p, "#7f7f7f"))
            bars = ax.bar(range(len(xs)), ys, color=cs)
            ax.set_xticks(range(len(xs)))
            ax.set_xticklabels(xs, rotation=35, ha="right", fontsize=8)
            for bar, v in zip(bars, ys):
                ax.annotate(f"{v:,.0f}" if v >= 100 else f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, v),
                            ha="center", va="bottom", fontsize=7)
            if i == 0:
                ax.set_title(title, fontsize=10)
            if j == 0:
                ax.set_ylabel(ylab)
            ax.grid(axis="y", alpha=0.3)
            ax.margins(y=0.15)
    fig.suptitle("Muxgate vs peers — req/s (top) and proxy CPU µs per request (bottom); loopback, 2-core VM",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--shared", required=True)
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("--harness-md")
    p.add_argument("--extra")
    p.add_argument("--md", required=True)
    p.add_argument("--png")
    p.add_argument("--png-rel")
    args = ap.parse_args()
    if args.cmd == "run":
        bench = load_bench(os.path.abspath(args.shared))
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
        Runner(bench, args.out).run()
        return
    md, hagg, idle, h1, targets, scen, cand = build_report(args)
    with open(args.md, "w") as f:
        f.write(md)
    log("wrote " + args.md)
    if args.png:
        if chart(args.png, hagg, h1, targets, scen, cand):
            log("wrote " + args.png)


if __name__ == "__main__":
    try:
        main()
    except Stop as ex:
        sys.exit(f"stopped: {ex}")
