#!/usr/bin/env python3
"""streamput benchmarks: the chunk-size sweep, the interleaved comparisons, the
engines (rw, sendfile, the default, curl -T) on loopback and across a shaped veth link,
HTTPS (streamput and curl -T to the TLS mock and to nginx with ssl), multipart uploads
(1, 2, 4 and 8 lanes against one PUT, to the mock), and many files (a directory of many small
or fewer large files: streamput's batch, curl --parallel and one streamput per file, to nginx).

    bench/run.py [--quick] [--size SIZE] [--runs K] [--only PARTS] [--rates LIST] [--bin DIR]
                 [--mp-sizes LIST] [--many-small N] [--many-large N] [--many-parallel LIST]
                 [--out DIR]

Everything runs on this machine, with files on tmpfs (/dev/shm) so the disk does not dominate:
over 127.0.0.1, and for the link part (root only) between two network namespaces the driver
creates and deletes, joined by a veth pair on a private /30 that exists only inside them. Prints Markdown tables to stdout and writes CSV files, a summary and PNG plots under
bench/results/<timestamp>/ (--out to change). See bench/README.md for what each figure means.

Exit status: 0 when every run succeeded (targets missed or not), 1 when a run failed or a stored
file was wrong, 2 for usage errors, 77 when a tool is missing (ctest's SKIP_RETURN_CODE).
Only the Python standard library is used.
"""

import argparse
import ctypes
import datetime
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

KiB = 1024
MiB = KiB * KiB
GiB = MiB * KiB

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = 77
ENGINES = ("rw", "sendfile")
CHUNKS = tuple(KiB << i for i in range(14))  # 1 KiB .. 8 MiB
TMP_PREFIX = "streamput-bench."
# Calls that move body bytes out of the client ("send calls"), as strace -c names them.
SEND_CALLS = {"send", "sendto", "sendmsg", "sendfile", "sendfile64", "write", "writev", "splice"}

# The targets the README states (client CPU, throughput, memory).
T_CPU_VS_CURL = 0.5
T_TPUT_VS_FLOOR = 0.9
T_MOCK_VS_NGINX = 1.0
T_CLIENT_RSS_KIB = 4 * KiB
T_CLIENT_RSS_GROWTH_KIB = 256
T_MOCK_RSS_GROWTH_KIB = KiB
# The HTTPS targets, against curl -T in the same run; the kTLS one needs a kernel with TLS.
T_HTTPS_CPU_VS_CURL = 0.9
T_HTTPS_TPUT_VS_CURL = 1.0
T_KTLS_CPU_VS_CURL = 0.5
# The one TLS 1.3 cipher both clients are pinned to: what both pick by default with these servers.
HTTPS_SUITE = "TLS_AES_256_GCM_SHA384"
# The multipart part: lane counts against one PUT, the sizes it runs, and its targets (same run).
MP_LANES = (1, 2, 4, 8)
MP_SIZES = "1G,4G"
T_MP_TPUT_VS_PUT = 0.9
T_MP_CPU_VS_PUT = 1.1
# The many part: how many files of what size per workload (--quick: 1000 and 20), the
# --parallel values it runs, and its targets against curl --parallel in the same round.
MANY_SMALL, MANY_SMALL_SIZE, MANY_LARGE, MANY_LARGE_SIZE = 10000, 4 * KiB, 100, 16 * MiB
MANY_PARALLEL = "4"
T_MANY_SMALL_FILES_VS_CURL = 2.0
T_MANY_LARGE_TPUT_VS_CURL = 1.0
# nginx closes a kept connection after keepalive_requests requests (default 1000); the many
# part's clients would then pay a new connection per 1000 files, so it is set above any count.
NGINX_KEEPALIVE_REQUESTS = 100000
# The longest single argument execve() takes (Linux's MAX_ARG_STRLEN, 32 pages).
ARG_STRLEN_MAX = 128 * KiB


# Network namespaces of the link part are named NETNS_PREFIX<driver pid>-<random>-{m,c}.
NETNS_PREFIX = "spb-"
# The link part's default rates: tbf on the client's end of the veth pair; "none" = unshaped.
LINK_RATES = "1gbit,10gbit,none"
# At a shaped rate the file is cut (halved) until one run takes at most about this long.
LINK_RUN_S = 5


class BenchError(Exception):
    """A run failed or stored the wrong bytes: the figures cannot be trusted."""


class Missing(Exception):
    """A tool the benchmark needs is not installed."""


def parse_size(text):
    """'64M', '1G', '4096' (binary suffixes K, M, G, T) -> bytes."""
    m = re.fullmatch(r"(\d+)\s*([KMGT]?)(?:i?B)?", text.strip(), re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    return int(m.group(1)) * 1024 ** " KMGT".index(m.group(2).upper() or " ")


def fmt_size(n):
    for unit, scale in (("G", GiB), ("M", MiB), ("K", KiB)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


def fmt_count(x):
    if x is None:
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def spread(values, fmt):
    """'median (min–max)' of the values, formatted with fmt."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def die_with_parent():
    """preexec_fn: the kernel kills servers we start if this driver dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def find_tool(name, extra_dirs=()):
    path = shutil.which(name)
    for d in extra_dirs:
        if path is None and os.access(os.path.join(d, name), os.X_OK):
            path = os.path.join(d, name)
    return path


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_dirs(base):
    """Removes temp trees of earlier runs whose driver died before it could clean up."""
    for name in os.listdir(base):
        m = re.fullmatch(re.escape(TMP_PREFIX) + r"(\d+)\.\w+", name)
        if m and not pid_alive(int(m.group(1))):
            shutil.rmtree(os.path.join(base, name), ignore_errors=True)


def write_source(path, size):
    """Writes size bytes of random data: one random 4 MiB block, stamped with its index each time
    it is repeated, so the file is not periodic and a misplaced block shows up in a comparison."""
    block = bytearray(os.urandom(4 * MiB))
    with open(path, "wb") as f:
        done, index = 0, 0
        while done < size:
            block[:8] = index.to_bytes(8, "little")
            n = min(len(block), size - done)
            f.write(block[:n] if n < len(block) else block)
            done += n
            index += 1


def in_netns(netns):
    """The argv prefix that runs a command inside network namespace netns (none: nothing)."""
    return ["ip", "netns", "exec", netns] if netns else []


def parse_rate(text):
    """'1gbit', '10gbit', '500mbit' -> bits per second (tc's units, powers of 1000); 'none' ->
    None (unshaped)."""
    if text == "none":
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)bit", text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r} (e.g. 1gbit, 10gbit, none)")
    return float(m.group(1)) * 1000 ** " kmg".index(m.group(2) or " ")


def run_ip(argv, check=True):
    """Runs an ip/tc command; a failure of one the link needs ends the run with its message."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: {p.stderr.decode(errors='replace').strip()}")
    return p


def remove_stale_netns():
    """Deletes the namespaces of earlier runs whose driver died before it could clean up (the
    veth pair goes with them)."""
    p = run_ip(["ip", "netns", "list"], check=False)
    for line in p.stdout.decode(errors="replace").splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(re.escape(NETNS_PREFIX) + r"(\d+)-[0-9a-f]+-[mc]", name)
        if m and not pid_alive(int(m.group(1))):
            run_ip(["ip", "netns", "del", name], check=False)


class Link:
    """'Another machine' on this one: the mock in one network namespace, the client in another,
    joined by a veth pair with a private /30 that exists only inside the two namespaces. Neither
    namespace has any other interface up but its own loopback, nor any route beyond the /30, so
    nothing can reach the outside network. The client's end is shaped with tbf (this kernel has
    tbf and htb, not netem); the mock's CPU is then spent apart from the link's rate limit, as
    on a receiver across a real network."""

    def __init__(self):
        tag = f"{os.getpid()}-{os.urandom(2).hex()}"
        self.ns_mock = f"{NETNS_PREFIX}{tag}-m"
        self.ns_client = f"{NETNS_PREFIX}{tag}-c"
        short = os.urandom(3).hex()  # interface names are at most 15 bytes
        self.if_mock, self.if_client = f"spb{short}m", f"spb{short}c"
        x, k = os.urandom(1)[0], os.urandom(1)[0] % 64
        self.addr_mock = f"10.200.{x}.{4 * k + 1}"
        self.addr_client = f"10.200.{x}.{4 * k + 2}"
        self.made = []

    def create(self):
        for ns in (self.ns_mock, self.ns_client):
            run_ip(["ip", "netns", "add", ns])
            self.made.append(ns)
        # Both ends are created inside their namespaces: no interface of the pair ever exists in
        # the namespace this driver runs in.
        run_ip(["ip", "link", "add", self.if_mock, "netns", self.ns_mock, "type", "veth", "peer",
                "name", self.if_client, "netns", self.ns_client])
        for ns, dev, addr in ((self.ns_mock, self.if_mock, self.addr_mock),
                              (self.ns_client, self.if_client, self.addr_client)):
            run_ip(["ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", dev])
            run_ip(["ip", "-n", ns, "link", "set", dev, "up"])
            run_ip(["ip", "-n", ns, "link", "set", "lo", "up"])

    def shape(self, rate_bps):
        """tbf at rate_bps on the client's egress (the body's direction); None removes it. The
        bucket holds at least two 64 KiB GSO packets and 1 ms at the rate, so tbf never has to
        split a packet and a 10 Gbit/s bucket refills in steps the timer can keep up with."""
        tc = in_netns(self.ns_client) + ["tc", "qdisc"]
        if rate_bps is None:
            run_ip(tc + ["del", "dev", self.if_client, "root"], check=False)
            return "unshaped"
        burst = max(128 * KiB, int(rate_bps / 8 / 1000))
        run_ip(tc + ["replace", "dev", self.if_client, "root", "tbf", "rate", f"{int(rate_bps)}bit",
                     "burst", str(burst), "latency", "20ms"])
        show = run_ip(tc + ["show", "dev", self.if_client]).stdout.decode(errors="replace")
        return show.strip().splitlines()[0] if show.strip() else "tbf"

    def destroy(self):
        while self.made:
            run_ip(["ip", "netns", "del", self.made.pop()], check=False)


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def proc_vmhwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def reset_vmhwm(pid):
    """Resets the process's peak RSS to its current RSS (proc(5), clear_refs: 5), so that VmHWM
    read after a run is that run's peak, not the process's lifetime peak."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


class Server:
    """A server process started by the driver; stopped (and reaped) by stop(). cacert: the
    certificate a client trusts to reach it over HTTPS (None: plain HTTP)."""

    def __init__(self, name, proc, url, store_dir, cacert=None):
        self.name, self.proc, self.url, self.store_dir = name, proc, url, store_dir
        self.cacert = cacert

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Bench:
    def __init__(self, args):
        self.args = args
        self.size = args.size
        self.bin = args.bin
        self.tmp = None
        self.servers = []
        self.failures = []
        self.timeout = 30 + self.size // (8 * MiB)  # per run: generous, but bounded
        self.tools = {}
        self.mock_uploads = 0
        self.link = None
        self.sized_srcs = {}

    # ----- setup and teardown -------------------------------------------------------------

    def check_tools(self):
        need = {
            "streamput": os.path.join(self.bin, "streamput"),
            "streamput-mock": os.path.join(self.bin, "streamput-mock"),
            "sp_measure": os.path.join(self.bin, "sp_measure"),
            "tcp_floor": os.path.join(self.bin, "tcp_floor"),
            "orig_1k": os.path.join(self.bin, "orig_1k"),
        }
        missing = [f"{k} (build it: cmake --build build)" for k, p in need.items()
                   if not os.access(p, os.X_OK)]
        self.tools.update(need)
        for name, dirs in (("curl", ()), ("nginx", ("/usr/sbin", "/sbin")), ("gnuplot", ()),
                           ("strace", ()), ("cp", ()), ("cmp", ())):
            path = find_tool(name, dirs)
            if path is None:
                missing.append(f"{name} (install: bash ci/install-deps.sh --bench)")
            self.tools[name] = path
        if missing:
            raise Missing("missing: " + ", ".join(missing))

    def check_link_tools(self):
        """The link part makes network namespaces: it needs root (CAP_NET_ADMIN), ip and tc."""
        missing = [f"{t} (install: apt-get install iproute2)" for t in ("ip", "tc")
                   if find_tool(t, ("/usr/sbin", "/sbin")) is None]
        if os.geteuid() != 0:
            missing.append("root (the link part creates network namespaces)")
        if missing:
            raise Missing("missing for --only link: " + ", ".join(missing))

    def setup(self):
        with open("/proc/meminfo") as f:
            avail = next(int(l.split()[1]) * KiB for l in f if l.startswith("MemAvailable:"))
        # The multipart part keeps a source and one stored copy of each of its sizes.
        mp = 2 * sum(s for s in self.args.mp_sizes if s != self.size) \
            if "multipart" in self.args.only.split(",") else 0
        # The many part keeps one workload's tree and one stored copy of it at a time.
        many = 2 * max(self.args.many_small * self.args.many_small_size,
                       self.args.many_large * self.args.many_large_size) \
            if "many" in self.args.only.split(",") else 0
        if 3 * self.size + mp + many + GiB > avail:
            raise BenchError(f"--size {fmt_size(self.size)} needs about 3x that in free memory "
                             "(tmpfs), plus twice each --mp-sizes and twice the many part's "
                             f"larger workload; {avail // MiB} MiB available")
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        if base is None:
            print("warning: /dev/shm is not writable; files go to the default temp dir, which may "
                  "be a disk", file=sys.stderr)
            base = os.environ.get("TMPDIR", "/tmp")
        remove_stale_dirs(base)
        self.tmp = os.path.join(base, f"{TMP_PREFIX}{os.getpid()}.{os.urandom(3).hex()}")
        os.mkdir(self.tmp, 0o700)
        self.src = os.path.join(self.tmp, "src.bin")
        self.tiny = os.path.join(self.tmp, "tiny.bin")  # for RSS baselines
        write_source(self.src, self.size)
        write_source(self.tiny, KiB)
        # strace runs use a smaller file (it slows every call down); per-GiB counts are scaled.
        self.sys_size = min(self.size, self.args.strace_size)
        self.sys_src = self.src
        if self.sys_size < self.size:
            self.sys_src = os.path.join(self.tmp, "sys.bin")
            write_source(self.sys_src, self.sys_size)
        self.one_byte = os.path.join(self.tmp, "one.bin")
        write_source(self.one_byte, 1)
        self.warm_memory()

    def warm_memory(self):
        """On a fresh VM the first touch of each page of guest memory is several times slower
        than later ones (measured: cp of 1 GiB to tmpfs 3.2 s cold, 0.4 s warm), so the first
        run would be an outlier for reasons that have nothing to do with the code measured.
        Touch twice the file size of tmpfs once (the most any step keeps beside the source)
        before anything is timed."""
        for i in range(2):
            subprocess.run([self.tools["cp"], self.src, os.path.join(self.tmp, f"warm{i}")],
                           check=True)
        for i in range(2):
            os.unlink(os.path.join(self.tmp, f"warm{i}"))

    def cleanup(self):
        for s in reversed(self.servers):
            s.stop()
        self.servers.clear()
        if self.link:
            self.link.destroy()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_mock(self, host="127.0.0.1", netns=None, name="mock-root", tls=False):
        """A streamput-mock on host, port 0, storing into the temp tree's directory name; with
        netns it runs inside that network namespace (ip netns exec execs it in place, so the
        pid is the mock's own and its CPU time is read as on loopback). With tls it serves
        HTTPS with a self-signed certificate it writes to server.cacert for the clients."""
        root = os.path.join(self.tmp, name)
        os.mkdir(root)
        log = open(os.path.join(self.tmp, f"{name}.log"), "wb")
        cacert = os.path.join(self.tmp, f"{name}-cert.pem") if tls else None
        tls_args = ["--tls-self-signed", "--tls-cert-out", cacert] if tls else []
        proc = subprocess.Popen(
            in_netns(netns) + [self.tools["streamput-mock"], "--listen", f"{host}:0",
                               "--root", root] + tls_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            preexec_fn=die_with_parent)
        log.close()
        server = Server("streamput-mock", proc, None, root, cacert)
        self.servers.append(server)
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        line = proc.stdout.readline().decode(errors="replace") if ready else ""
        m = re.search(r"listening on (https?://" + re.escape(host) + r":\d+/)", line)
        if not m:
            raise BenchError(f"streamput-mock did not start: {line.strip()!r}; see {log.name}")
        # Keep draining stdout so the mock can never block on a full pipe.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        server.url = m.group(1) + "api/fs/put"
        return server

    def start_nginx(self, name, extra="", tls=None):
        """Debian's nginx with WebDAV PUT on a free loopback port, everything in the temp tree
        (directory name), extra directives in the location; with tls = (certificate, key) it
        serves HTTPS only. master_process off: the one process runs the same request code a
        worker would, its CPU time is one /proc/PID/stat, and the kernel kills it if the driver
        dies."""
        d = os.path.join(self.tmp, name)
        root = os.path.join(d, "root")
        for sub in ("", "root", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        last_err = ""
        ssl, scheme, extra_server = "", "http", ""
        if tls:
            ssl, scheme = " ssl", "https"
            extra_server = (f"ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};\n"
                            "        ssl_protocols TLSv1.2 TLSv1.3;")
        for _ in range(5):  # a port found free can be taken before nginx binds it; retry
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            conf = os.path.join(d, "nginx.conf")
            with open(conf, "w") as f:
                f.write(f"""\
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port}{ssl};
        {extra_server}
        root {root};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
            {extra}
        }}
    }}
}}
""")
            log = open(os.path.join(d, "stderr.log"), "wb")
            proc = subprocess.Popen([self.tools["nginx"], "-e", f"{d}/error.log", "-c", conf],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    preexec_fn=die_with_parent)
            log.close()
            server = Server(name, proc, f"{scheme}://127.0.0.1:{port}/cmp-nginx.bin", root,
                            tls[0] if tls else None)
            for _ in range(100):
                if proc.poll() is not None:
                    break
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    self.servers.append(server)
                    return server
                except OSError:
                    time.sleep(0.05)
            server.stop()
            with open(os.path.join(d, "error.log"), errors="replace") as f:
                last_err = f.read()[-500:]
        raise BenchError(f"nginx did not start: {last_err}")

    # ----- one measured run -----------------------------------------------------------------

    def measure(self, what, cmd, peers=(), nbytes=None, netns=None, cwd=None, timeout=None):
        """Runs cmd under sp_measure (inside netns if given, in directory cwd if given, killed
        after timeout seconds, by default the run's); returns its figures, with per-GiB rates for
        nbytes."""
        timeout = timeout or self.timeout
        out = os.path.join(self.tmp, "measure.txt")
        argv = in_netns(netns) + [self.tools["sp_measure"], "-o", out, "-t", str(timeout)]
        if peers:
            argv += ["-p", ",".join(str(p) for p in peers)]
        p = subprocess.run(argv + ["--"] + cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd,
                           timeout=timeout + 30)
        fig = {}
        if os.path.exists(out):
            with open(out) as f:
                for kv in f.read().split():
                    k, _, v = kv.partition("=")
                    fig[k] = float(v)
            os.unlink(out)
        if p.returncode != 0 or fig.get("status") != 0:
            err = p.stderr.decode(errors="replace").strip()[-400:]
            raise BenchError(f"{what}: exit {p.returncode}: {err}")
        nbytes = self.size if nbytes is None else nbytes
        gib = nbytes / GiB
        fig["cpu_s"] = fig["user_s"] + fig["sys_s"]
        fig["mibs"] = nbytes / MiB / fig["wall_s"]
        fig["cpu_per_gib"] = fig["cpu_s"] / gib
        peer = fig.get("peer_cpu_s")
        fig["peer_per_gib"] = peer / gib if peer is not None and peer == peer else None
        return fig

    def check_stored(self, what, path, nbytes, full, src=None):
        """The stored copy has the right size (every run) and bytes (full=True: compared with
        src, by default the source file of that size); then removed."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise BenchError(f"{what}: nothing stored at {path}") from None
        if st.st_size != nbytes:
            raise BenchError(f"{what}: stored {st.st_size} bytes, expected {nbytes}")
        if full:
            if src is None:
                src = self.src if nbytes == self.size else self.sys_src
            if subprocess.run([self.tools["cmp"], "-s", src, path]).returncode != 0:
                raise BenchError(f"{what}: stored copy differs from the source")
        os.unlink(path)

    def upload(self, what, cmd, peers, dest, nbytes=None, full=False, netns=None, src=None,
               cwd=None, timeout=None, check=None, files=1):
        """measure() + check_stored(), tried up to 3 times: a failed attempt is recorded and
        reported with the results instead of ending a long run (a flaky failure is a finding,
        not a reason to lose the other figures); the third failure ends the run. check(full),
        if given, checks and removes what a run stored instead of check_stored(); dest may
        then be a directory of that many files, removed after a failed attempt."""
        nbytes = self.size if nbytes is None else nbytes
        for attempt in range(3):
            self.count_upload(dest, files)
            try:
                fig = self.measure(what, cmd, peers, nbytes, netns, cwd, timeout)
                if check:
                    check(full)
                else:
                    self.check_stored(what, dest, nbytes, full, src)
                return fig
            except BenchError as e:
                self.failures.append(str(e))
                progress(f"FAILED (attempt {attempt + 1} of 3): {e}")
                if os.path.isdir(dest):
                    shutil.rmtree(dest)
                elif os.path.exists(dest):
                    os.unlink(dest)
                if attempt == 2:
                    raise

    def count_upload(self, dest, files=1):
        if os.path.dirname(dest) == os.path.join(self.tmp, "mock-root"):
            self.mock_uploads += files

    def strace_upload(self, what, cmd, dest, src, nbytes):
        """Syscall counts of one upload of src (strace -f -c), or None after 3 failed tries.
        A client that exits non-zero although the server stored the whole body still made
        every call of a complete transfer: its counts are kept, and the failure is reported."""
        argv = [src if a == self.src else a for a in cmd]
        for attempt in range(3):
            self.count_upload(dest)
            counts, err = self.strace_counts(argv)
            try:
                self.check_stored(what, dest, nbytes, full=False)
            except BenchError as e:
                counts, err = None, err or str(e)
            if err:
                kept = " (counts kept: the body was stored complete)" if counts else ""
                self.failures.append(f"{what} under strace: {err}{kept}")
                progress(f"FAILED (attempt {attempt + 1} of 3): {what}: {err}{kept}")
            if counts:
                return counts
            if os.path.exists(dest):
                os.unlink(dest)
        return None

    def syscalls_per_gib(self, what, cmd, dest):
        big = self.strace_upload(what, cmd, dest, self.sys_src, self.sys_size)
        small = self.strace_upload(what, cmd, dest, self.one_byte, 1)
        return per_gib_calls(big, small, self.sys_size) if big and small else {}

    def streamput_cmd(self, url, src, engine=None, chunk=None, remote="/bench.bin", cacert=None,
                      verbose=False, lanes=None):
        """streamput's command line. One PUT unless lanes is given (then multipart with that many
        lanes): the default, auto, would send the parts' files over 64M in chunks and change
        what the figures recorded before multipart existed measure."""
        cmd = [self.tools["streamput"], "-v" if verbose else "-s", "--no-progress", "-p", remote]
        cmd += ["--multipart", "never"] if lanes is None else \
            ["--multipart", "always", "--parallel-chunks", str(lanes)]
        if engine:
            cmd += ["-e", engine]
        if chunk:
            cmd += ["-c", str(chunk)]
        if cacert:
            cmd += ["--cacert", cacert]
        return cmd + [src, url]

    def strace_counts(self, cmd):
        """Runs cmd under strace -f -c; returns ({syscall: calls}, None) or (counts, error) if
        cmd failed."""
        out = os.path.join(self.tmp, "strace.txt")
        p = subprocess.run([self.tools["strace"], "-f", "-c", "-o", out, "--"] + cmd,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=self.timeout + 60)
        counts = {}
        if os.path.exists(out):
            with open(out) as f:
                for line in f:
                    tok = line.split()
                    if len(tok) >= 5 and tok[-1] != "total" and re.fullmatch(r"[\d.]+", tok[0]):
                        counts[tok[-1]] = int(tok[3])
            os.unlink(out)
        err = None
        if p.returncode != 0:
            err = f"exit {p.returncode}: {p.stderr.decode(errors='replace').strip()[-300:]}"
        return counts, err

    # ----- the sweep ------------------------------------------------------------------------

    def sweep(self, mock):
        cells = [(e, c) for e in ENGINES for c in self.args.chunks]
        runs = {cell: [] for cell in cells}
        dest = os.path.join(mock.store_dir, "bench.bin")
        for e in ENGINES:  # warm-up, not recorded
            self.upload("warm-up", self.streamput_cmd(mock.url, self.src, e, MiB), [mock.pid],
                        dest, full=True)
        for r in range(self.args.runs):
            # Rotate the order each round so slow drift of the machine spreads over all cells.
            shift = (r * len(cells)) // max(1, self.args.runs)
            for e, c in cells[shift:] + cells[:shift]:
                what = f"sweep {e} {fmt_size(c)} run {r + 1}"
                runs[(e, c)].append(self.upload(what, self.streamput_cmd(mock.url, self.src, e, c),
                                                [mock.pid], dest, full=(r == 0 and c == MiB)))
            progress(f"sweep round {r + 1}/{self.args.runs} done")
        sys_counts = {}
        if not self.args.no_strace:
            for e, c in cells:
                sys_counts[(e, c)] = self.syscalls_per_gib(
                    f"syscalls {e} {fmt_size(c)}", self.streamput_cmd(mock.url, self.src, e, c),
                    dest)
            progress("syscall counts done")
        return runs, sys_counts

    # ----- memory: client RSS growth with the file size, mock RSS growth ---------------------

    def rss_baselines(self, mock):
        """Client peak RSS for a 1 KiB upload, per engine x chunk (up to 1 MiB, the target's
        range), to compare with the same cell's peak at the full size."""
        base = {}
        dest = os.path.join(mock.store_dir, "bench.bin")
        for e in ENGINES:
            for c in self.args.chunks:
                if c > MiB:
                    continue
                what = f"rss baseline {e} {fmt_size(c)}"
                rss = [self.upload(what, self.streamput_cmd(mock.url, self.tiny, e, c),
                                   [mock.pid], dest, KiB)["maxrss_kib"] for _ in range(3)]
                base[(e, c)] = max(rss)
        return base

    # ----- the interleaved comparison -------------------------------------------------------

    def compare(self, mock, nginx, nginx_1m):
        # name -> (command, server pids, where the copy lands)
        contenders = {
            "streamput → mock": (
                self.streamput_cmd(mock.url, self.src, remote="/cmp-streamput.bin"),
                [mock.pid], os.path.join(mock.store_dir, "cmp-streamput.bin")),
            "curl -T → mock": (
                [self.tools["curl"], "-sS", "-o", "/dev/null", "-T", self.src,
                 "-H", "File-Path: /cmp-curl.bin", mock.url],
                [mock.pid], os.path.join(mock.store_dir, "cmp-curl.bin")),
            "orig_1k → mock": (
                [self.tools["orig_1k"], "-H", "File-Path:/cmp-orig.bin", self.src, mock.url],
                [mock.pid], os.path.join(mock.store_dir, "cmp-orig.bin")),
            "streamput → nginx": (
                self.streamput_cmd(nginx.url, self.src, remote="/cmp-nginx.bin"),
                [nginx.pid], os.path.join(nginx.store_dir, "cmp-nginx.bin")),
            "streamput → nginx 1m": (
                self.streamput_cmd(nginx_1m.url, self.src, remote="/cmp-nginx.bin"),
                [nginx_1m.pid], os.path.join(nginx_1m.store_dir, "cmp-nginx.bin")),
            "raw TCP floor": (
                [self.tools["tcp_floor"], self.src, os.path.join(self.tmp, "floor.out")],
                [], os.path.join(self.tmp, "floor.out")),
            "cp to tmpfs": (
                [self.tools["cp"], self.src, os.path.join(self.tmp, "cp.out")],
                [], os.path.join(self.tmp, "cp.out")),
        }
        runs = {name: [] for name in contenders}
        for name, (cmd, peers, dest) in contenders.items():  # warm-up, checked byte for byte
            self.upload(f"{name} warm-up", cmd, peers, dest, full=True)
        for r in range(self.args.runs):
            for name, (cmd, peers, dest) in contenders.items():
                runs[name].append(self.upload(f"{name} run {r + 1}", cmd, peers, dest))
            progress(f"comparison round {r + 1}/{self.args.runs} done")
        sys_counts = {}
        if not self.args.no_strace:
            for name in ("streamput → mock", "curl -T → mock", "orig_1k → mock"):
                cmd, _, dest = contenders[name]
                sys_counts[name] = self.syscalls_per_gib(name, cmd, dest)
        return runs, sys_counts


    # ----- the engines: rw, sendfile, the default and curl -T, on loopback and across a link -----

    def engine_contenders(self, url, src, store_dir):
        """name -> (command, where the copy lands): streamput with each engine and with its
        default (whatever auto picks in this build), and curl -T as the comparison runs it."""
        def sp(engine, tag):
            return (self.streamput_cmd(url, src, engine, remote=f"/eng-{tag}.bin"),
                    os.path.join(store_dir, f"eng-{tag}.bin"))

        return {
            "streamput -e rw": sp("rw", "rw"),
            "streamput -e sendfile": sp("sendfile", "sendfile"),
            "streamput (default)": sp(None, "default"),
            "curl -T": ([self.tools["curl"], "-sS", "-o", "/dev/null", "-T", src,
                         "-H", "File-Path: /eng-curl.bin", url],
                        os.path.join(store_dir, "eng-curl.bin")),
        }

    def interleave(self, label, contenders, peers, nbytes, src, netns=None, hwm_pid=None,
                   run=None):
        """One checked warm-up per contender, then args.runs rounds, the order reversed every
        other round (A B C D, D C B A, ...) so that no contender always runs first or right
        after the same neighbour. Each run keeps its round, position and the 1-minute load; with
        hwm_pid, also that server's peak RSS during the run (mock_hwm_kib). A contender is
        (command, where the copy lands) unless run is given: then run(what, contender, full)
        makes one checked run of it and returns its figures."""
        if run is None:
            def run(what, contender, full):
                cmd, dest = contender
                return self.upload(what, cmd, peers, dest, nbytes, full=full, netns=netns,
                                   src=src)
        names = list(contenders)
        runs = {name: [] for name in names}
        for name in names:
            run(f"{label}: {name} warm-up", contenders[name], True)
        for r in range(self.args.runs):
            order = names if r % 2 == 0 else names[::-1]
            for pos, name in enumerate(order):
                if hwm_pid:
                    reset_vmhwm(hwm_pid)
                fig = run(f"{label}: {name} run {r + 1}", contenders[name], False)
                fig.update({"round": r + 1, "pos": pos + 1, "load1": load1()})
                if hwm_pid:
                    fig["mock_hwm_kib"] = proc_vmhwm_kib(hwm_pid)
                runs[name].append(fig)
            progress(f"{label}: round {r + 1}/{self.args.runs} done")
        return runs

    def engines_loopback(self, mock):
        runs = self.interleave("loopback", self.engine_contenders(mock.url, self.src,
                                                                  mock.store_dir),
                               [mock.pid], self.size, self.src)
        return {"path": "loopback 127.0.0.1", "size": self.size, "runs": runs,
                "qdisc": "loopback, no qdisc"}

    def sized_src(self, size):
        """A source file of size bytes in the temp tree, written once; the main one for --size."""
        if size == self.size:
            return self.src
        if size not in self.sized_srcs:
            self.sized_srcs[size] = os.path.join(self.tmp, f"src-{fmt_size(size)}.bin")
            write_source(self.sized_srcs[size], size)
        return self.sized_srcs[size]

    def engines_link(self):
        """The same contenders from one namespace to a mock in another, at each of args.rates.
        At a shaped rate the file is halved until a run takes about LINK_RUN_S seconds or less."""
        remove_stale_netns()
        self.link = Link()
        self.link.create()
        mock = self.start_mock(self.link.addr_mock, self.link.ns_mock, "link-root")
        sections = []
        for rate_text in self.args.rates:
            rate = parse_rate(rate_text)
            size = self.size
            while rate is not None and size > MiB and size > rate / 8 * LINK_RUN_S:
                size //= 2
            src = self.sized_src(size)
            qdisc = self.link.shape(rate)
            label = f"veth {rate_text if rate else 'unshaped'}"
            runs = self.interleave(label, self.engine_contenders(mock.url, src, mock.store_dir),
                                   [mock.pid], size, src, netns=self.link.ns_client)
            sections.append({"path": label, "size": size, "runs": runs, "qdisc": qdisc})
        mock.stop()
        self.servers.remove(mock)
        self.link.destroy()
        self.link = None
        return sections

    # ----- HTTPS: streamput and curl -T to the TLS mock and to nginx with ssl -----------------

    def check_https_tools(self):
        """The https part makes nginx's certificate with the openssl command and needs an nginx
        built with its ssl module (Debian's nginx-light is)."""
        self.tools["openssl"] = find_tool("openssl")
        if self.tools["openssl"] is None:
            raise Missing("missing for --only https: openssl (install: bash ci/install-deps.sh)")
        p = subprocess.run([self.tools["nginx"], "-V"], capture_output=True, timeout=10)
        if b"--with-http_ssl_module" not in p.stdout + p.stderr:
            raise Missing("missing for --only https: an nginx with the ssl module "
                          "(install: bash ci/install-deps.sh --bench)")

    def make_cert(self, name):
        """A throw-away EC P-256 key and self-signed certificate for 127.0.0.1 in the temp tree,
        made as a user would for a test server; returns (certificate, key)."""
        cert, key = (os.path.join(self.tmp, f"{name}-{k}.pem") for k in ("cert", "key"))
        p = subprocess.run([self.tools["openssl"], "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        if p.returncode != 0:
            raise BenchError(f"openssl req: {p.stderr.decode(errors='replace').strip()[-300:]}")
        return cert, key

    def tls_pin(self):
        """The argv prefix that runs a client with libssl's defaults narrowed to TLS 1.3 and
        HTTPS_SUITE. streamput and curl both use libssl, which reads OPENSSL_CONF when it starts,
        so both negotiate the same protocol and cipher whatever the server prefers; nothing but
        the clients sees the file."""
        conf = os.path.join(self.tmp, "openssl-pin.cnf")
        if not os.path.exists(conf):
            with open(conf, "w") as f:
                f.write("openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
                        "[ssl_sect]\nsystem_default = system_default_sect\n"
                        "[system_default_sect]\nMinProtocol = TLSv1.3\nMaxProtocol = TLSv1.3\n"
                        f"Ciphersuites = {HTTPS_SUITE}\n")
        return ["env", f"OPENSSL_CONF={conf}"]

    def https_contenders(self, server, src, verbose=False):
        """name -> (command, where the copy lands) for one HTTPS server: streamput with its
        default engine and with -e sendfile (which falls back to read/send when the kernel does
        not encrypt), and curl -T, all trusting server.cacert and pinned by tls_pin(). The mock
        stores by the File-Path header, nginx by the URL's path: each contender gets both."""
        pin = self.tls_pin()
        base = server.url if server.name == "streamput-mock" else server.url.rsplit("/", 1)[0]

        def where(tag):
            url = base if server.name == "streamput-mock" else f"{base}/https-{tag}.bin"
            return url, f"/https-{tag}.bin", os.path.join(server.store_dir, f"https-{tag}.bin")

        def sp(engine, tag):
            url, remote, dest = where(tag)
            return (pin + self.streamput_cmd(url, src, engine, remote=remote,
                                             cacert=server.cacert, verbose=verbose), dest)

        url, remote, dest = where("curl")
        return {
            "streamput (default)": sp(None, "default"),
            "streamput -e sendfile": sp("sendfile", "sendfile"),
            "curl -T": (pin + [self.tools["curl"], "-sS"] + (["-v"] if verbose else []) +
                        ["-o", "/dev/null", "--cacert", server.cacert, "-T", src,
                         "-H", f"File-Path: {remote}", url], dest),
        }

    def tls_sessions(self, server):
        """What each contender negotiates with server, from one untimed upload of 1 KiB with -v:
        protocol / cipher, whether the kernel encrypts (kTLS), and the engine's fallback line."""
        info = {}
        for name, (cmd, dest) in self.https_contenders(server, self.tiny, verbose=True).items():
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=self.timeout)
            err = p.stderr.decode(errors="replace")
            if p.returncode != 0:
                raise BenchError(f"https {server.name}: {name} -v: exit {p.returncode}: "
                                 f"{err.strip()[-300:]}")
            self.check_stored(f"https {server.name}: {name} -v", dest, KiB, True, self.tiny)
            m = re.search(r"^\* (?:TLS|SSL) connection using (\S+) / (\S+)", err, re.MULTILINE)
            ktls = re.search(r"^\* kTLS: (.*)$", err, re.MULTILINE)
            fallback = re.search(r"^\* (sendfile is not possible over .*)$", err, re.MULTILINE)
            info[name] = {
                "session": f"{m.group(1)} / {m.group(2)}" if m else "not shown",
                "ktls": ktls.group(1) if ktls else "not reported",
                "note": fallback.group(1) if fallback else "",
            }
        return info

    def https(self):
        """The contenders to the TLS mock, then to nginx with ssl; each server's runs are
        interleaved among themselves as the engines part does."""
        mock = self.start_mock(name="mock-tls-root", tls=True)
        # The body buffer of the comparison's "nginx 1m": with the default 8 KiB nginx would
        # read and write the body in pieces of a TLS record's half.
        nginx = self.start_nginx("nginx-tls", "client_body_buffer_size 1m;",
                                 tls=self.make_cert("nginx-tls"))
        sections = []
        for label, server in (("mock (GnuTLS)", mock), ("nginx ssl (OpenSSL)", nginx)):
            sessions = self.tls_sessions(server)
            contenders = self.https_contenders(server, self.src)
            runs = self.interleave(f"https {label}", contenders, [server.pid], self.size,
                                   self.src)
            sys_counts = {}
            if not self.args.no_strace:
                for name, (cmd, dest) in contenders.items():
                    sys_counts[name] = self.syscalls_per_gib(f"https {label}: {name}", cmd, dest)
            sections.append({"path": label, "size": self.size, "runs": runs,
                             "sessions": sessions, "syscalls": sys_counts})
        for server in (nginx, mock):
            server.stop()
            self.servers.remove(server)
        return sections


    # ----- multipart: lanes against one PUT, to the mock --------------------------------------

    def multipart(self):
        """For each of args.mp_sizes: one PUT (--multipart never) and multipart with each of
        MP_LANES lanes (--multipart always --parallel-chunks N, the mock's default 10 MiB chunks),
        interleaved; the mock's peak RSS is reset before each run and read after it."""
        mock = self.start_mock(name="mp-root")
        sections = []
        for size in self.args.mp_sizes:
            src = self.sized_src(size)
            contenders = {"PUT": (self.streamput_cmd(mock.url, src, remote="/mp-put.bin"),
                                  os.path.join(mock.store_dir, "mp-put.bin"))}
            for n in MP_LANES:
                contenders[f"multipart {n} lane{'s' if n > 1 else ''}"] = (
                    self.streamput_cmd(mock.url, src, remote=f"/mp-{n}.bin", lanes=n),
                    os.path.join(mock.store_dir, f"mp-{n}.bin"))
            runs = self.interleave(f"multipart {fmt_size(size)}", contenders, [mock.pid], size,
                                   src, hwm_pid=mock.pid)
            sections.append({"size": size, "runs": runs})
        mock.stop()
        self.servers.remove(mock)
        return sections

    # ----- many files: one batch, curl --parallel and a process per file, to nginx ----------

    def check_many_tools(self):
        self.tools["xargs"] = find_tool("xargs")
        if self.tools["xargs"] is None:
            raise Missing("missing for --only many: xargs (install: apt-get install findutils)")

    def many_tree(self, tag, count, size):
        """A flat directory of count files of size bytes with short names (zero-padded
        numbers, all of one width), each of its own random bytes; returns (directory, names, a file
        listing the names one a line)."""
        d = os.path.join(self.tmp, f"many-src-{tag}")
        os.mkdir(d)
        width = len(str(count - 1))
        names = [f"{i:0{width}d}" for i in range(count)]
        for name in names:
            path = os.path.join(d, name)
            if size <= 4 * MiB:
                with open(path, "wb") as f:
                    f.write(os.urandom(size))
            else:
                write_source(path, size)
        listfile = os.path.join(self.tmp, f"many-list-{tag}")
        with open(listfile, "w") as f:
            f.write("".join(n + "\n" for n in names))
        return d, names, listfile

    def check_tree(self, what, dest, src_dir, names, size, full):
        """dest holds exactly the files names, each of size bytes (every run) and, with full,
        the same bytes as in src_dir; then dest is removed."""
        try:
            stored = {e.name: e.stat().st_size for e in os.scandir(dest)}
        except FileNotFoundError:
            raise BenchError(f"{what}: nothing stored in {dest}") from None
        missing = [n for n in names if n not in stored]
        extra = sorted(set(stored) - set(names))
        if missing or extra:
            raise BenchError(f"{what}: {len(stored)} files stored of {len(names)}; missing "
                             f"{missing[:3]}, unexpected {extra[:3]}")
        wrong = [n for n in names if stored[n] != size]
        if wrong:
            raise BenchError(f"{what}: {len(wrong)} files of the wrong size, e.g. {wrong[0]}: "
                             f"{stored[wrong[0]]} bytes, expected {size}")
        if full:
            # In Python: one cmp process per file would take longer than the upload.
            for n in names:
                if not same_bytes(os.path.join(src_dir, n), os.path.join(dest, n)):
                    raise BenchError(f"{what}: stored {n} differs from the source")
        shutil.rmtree(dest)

    def many_contenders(self, nginx, mock, src_dir, names, listfile, n):
        """name -> (argv, cwd, where the files land) for --parallel n: streamput's batch, curl's
        --parallel with one -T glob, and xargs starting one streamput per file, n at a time, all
        to nginx (the URL's path ends in '/', so each client appends the file's name), and
        streamput's batch to the mock (File-Path under --remote-dir)."""
        base = nginx.url.rsplit("/", 1)[0]
        sp = [self.tools["streamput"], "-s", "--no-progress", "--multipart", "never"]
        glob = "{" + ",".join(names) + "}"
        curl = [self.tools["curl"], "-sS", "--fail", "--parallel", "--parallel-max", str(n)]
        if len(glob) + 1 < ARG_STRLEN_MAX:
            curl += ["-T", glob, f"{base}/many-curl/"]
        else:
            # One argument longer than the kernel takes (MAX_ARG_STRLEN): the same glob from a
            # config file, which curl reads before it starts any transfer.
            conf = listfile + ".curlrc"
            with open(conf, "w") as f:
                f.write(f'upload-file = "{glob}"\nurl = "{base}/many-curl/"\n')
            curl += ["-K", conf]
        return {
            MANY_SP: (sp + ["--parallel", str(n), "-r", src_dir + "/", f"{base}/many-sp/"],
                      None, os.path.join(nginx.store_dir, "many-sp")),
            MANY_CURL: (curl, src_dir, os.path.join(nginx.store_dir, "many-curl")),
            MANY_XARGS: (
                [self.tools["xargs"], "-a", listfile, "-P", str(n), "-I", "{}"] + sp +
                ["--remote-dir", "/", "{}", f"{base}/many-xargs/"],
                src_dir, os.path.join(nginx.store_dir, "many-xargs")),
            MANY_MOCK: (
                sp + ["--parallel", str(n), "-r", "--remote-dir", "/many-sp", src_dir + "/",
                      mock.url], None, os.path.join(mock.store_dir, "many-sp")),
        }

    def many(self, mock):
        """Both workloads (many small files, fewer large ones) at each --many-parallel N, the
        contenders interleaved as in the engines part; the server is nginx but for the last
        contender, the mock."""
        nginx = self.start_nginx("nginx-many", f"keepalive_requests {NGINX_KEEPALIVE_REQUESTS};")
        workloads = [("small", self.args.many_small, self.args.many_small_size),
                     ("large", self.args.many_large, self.args.many_large_size)]
        sections = []
        for tag, count, size in workloads:
            if count < 1:
                continue
            src_dir, names, listfile = self.many_tree(tag, count, size)
            nbytes = count * size
            # Generous but bounded: up to 50 ms per file (a lane's worst seen here) and 8 MiB/s.
            timeout = 60 + count // 20 + nbytes // (8 * MiB)

            def run(what, contender, full):
                cmd, cwd, dest = contender
                peers = [mock.pid if dest.startswith(mock.store_dir) else nginx.pid]
                fig = self.upload(what, cmd, peers, dest, nbytes, full=full, cwd=cwd,
                                  timeout=timeout, files=count, check=lambda full:
                                  self.check_tree(what, dest, src_dir, names, size, full))
                fig["files_s"] = count / fig["wall_s"]
                return fig

            for n in self.args.many_parallel:
                label = f"many {tag} {count} x {fmt_size(size)} N={n}"
                contenders = self.many_contenders(nginx, mock, src_dir, names, listfile, n)
                runs = self.interleave(label, contenders, None, nbytes, None, run=run)
                sections.append({"workload": tag, "count": count, "size": size, "n": n,
                                 "runs": runs, "curl_conf": "-K" in contenders[MANY_CURL][0]})
            shutil.rmtree(src_dir)
        nginx.stop()
        self.servers.remove(nginx)
        return sections


def same_bytes(a, b):
    """Whether files a and b hold the same bytes (read 1 MiB at a time)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(MiB), fb.read(MiB)
            if x != y:
                return False
            if not x:
                return True


def per_gib_calls(big, small, nbytes):
    """Syscalls per GiB of body: the calls of a 1-byte upload (start-up, connect, response) are
    subtracted, so what is left scales with the body and is not swamped by fixed costs."""

    def total(counts, names=None):
        return sum(v for k, v in counts.items() if names is None or k in names)

    scale = GiB / nbytes
    return {
        "send_calls": max(0, total(big, SEND_CALLS) - total(small, SEND_CALLS)) * scale,
        "all_calls": max(0, total(big) - total(small)) * scale,
        "per_call": {k: (v - small.get(k, 0)) * scale for k, v in big.items()
                     if v > small.get(k, 0)},
    }


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----- reporting ----------------------------------------------------------------------------

def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path, header, rows):
    import csv
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def plateau_chunk(runs, engine, chunks):
    """The smallest chunk on the engine's CPU plateau: median client CPU per GiB within 10% of
    the lowest median. CPU time is the steady figure on a shared machine; wall time is not (on
    the recorded machine a cell's runs spread by 30% and more), so throughput is shown beside
    the pick, not used to make it. A bigger chunk than this buys little and costs memory (rw)
    and responsiveness (progress, --limit-rate and the look for an early response all happen
    between chunks)."""
    cpu = {c: statistics.median(f["cpu_per_gib"] for f in runs[(engine, c)]) for c in chunks}
    mibs = {c: statistics.median(f["mibs"] for f in runs[(engine, c)]) for c in chunks}
    best = min(cpu.values())
    pick = min(c for c in chunks if cpu[c] <= 1.10 * best)
    return pick, cpu[pick], best, mibs[pick], max(mibs.values())


def plot(outdir, runs, chunks, gnuplot):
    """sweep.png: throughput and client CPU per GiB vs chunk size, one line per engine, with
    min-max bars."""
    for e in ENGINES:
        with open(os.path.join(outdir, f"sweep-{e}.dat"), "w") as f:
            f.write("# chunk mibs_med mibs_min mibs_max cpu_med cpu_min cpu_max mock_med\n")
            for c in chunks:
                t = [r["mibs"] for r in runs[(e, c)]]
                u = [r["cpu_per_gib"] for r in runs[(e, c)]]
                m = median_or_none(r["peer_per_gib"] for r in runs[(e, c)])
                f.write(f"{c} {statistics.median(t):.1f} {min(t):.1f} {max(t):.1f} "
                        f"{statistics.median(u):.4f} {min(u):.4f} {max(u):.4f} "
                        f"{m if m is not None else 'NaN'}\n")
    xtics = ", ".join(f'"{fmt_size(c)}" {c}' for c in chunks)
    script = f"""\
set terminal pngcairo size 1200,520 font ",10"
set output "{outdir}/sweep.png"
set multiplot layout 1,2 title "streamput → streamput-mock over loopback, tmpfs: median of runs, bars = min..max"
set logscale x 2
set xtics ({xtics}) rotate by -45
set grid
set key top left
set xlabel "chunk size (-c)"
set ylabel "throughput (MiB/s)"
set yrange [0:*]
set title "end-to-end throughput"
plot "{outdir}/sweep-rw.dat" using 1:2:3:4 with yerrorlines lw 2 title "rw", \\
     "{outdir}/sweep-sendfile.dat" using 1:2:3:4 with yerrorlines lw 2 title "sendfile"
set ylabel "CPU seconds per GiB"
set logscale y 10
set yrange [*:*]
set key top right
set title "CPU (user+sys) per GiB"
plot "{outdir}/sweep-rw.dat" using 1:5:6:7 with yerrorlines lw 2 title "client, rw", \\
     "{outdir}/sweep-sendfile.dat" using 1:5:6:7 with yerrorlines lw 2 title "client, sendfile", \\
     "{outdir}/sweep-rw.dat" using 1:8 with linespoints dt 2 title "mock, rw", \\
     "{outdir}/sweep-sendfile.dat" using 1:8 with linespoints dt 2 title "mock, sendfile"
unset multiplot
"""
    p = subprocess.run([gnuplot], input=script.encode(), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise BenchError("gnuplot: " + p.stderr.decode(errors="replace")[-400:])
    return os.path.join(outdir, "sweep.png")


def report_sweep(out, outdir, bench, runs, sys_counts, rss_base):
    chunks = bench.args.chunks
    rows, csv_rows, raw = [], [], []
    for e in ENGINES:
        for c in chunks:
            rs = runs[(e, c)]
            sc = sys_counts.get((e, c), {})
            rss = max(r["maxrss_kib"] for r in rs)
            rows.append([e, fmt_size(c),
                         spread([r["mibs"] for r in rs], "{:.0f}"),
                         spread([r["cpu_per_gib"] for r in rs], "{:.3f}"),
                         fmt_count(sc.get("send_calls")), fmt_count(sc.get("all_calls")),
                         f"{rss:.0f}",
                         spread([r["peer_per_gib"] for r in rs], "{:.2f}")])
            t = [r["mibs"] for r in rs]
            u = [r["cpu_per_gib"] for r in rs]
            m = [r["peer_per_gib"] for r in rs if r["peer_per_gib"] is not None]
            csv_rows.append([e, c, len(rs), statistics.median(t), min(t), max(t),
                             statistics.median(u), min(u), max(u),
                             sc.get("send_calls", ""), sc.get("all_calls", ""), rss,
                             rss_base.get((e, c), ""),
                             statistics.median(m) if m else "", min(m) if m else "",
                             max(m) if m else ""])
            for i, r in enumerate(rs):
                raw.append([e, c, i + 1, r["wall_s"], r["user_s"], r["sys_s"], r["maxrss_kib"],
                            r.get("peer_cpu_s", ""), r["mibs"], r["cpu_per_gib"]])
    write_csv(os.path.join(outdir, "sweep.csv"),
              ["engine", "chunk_bytes", "runs", "mibs_median", "mibs_min", "mibs_max",
               "client_cpu_s_per_gib_median", "client_cpu_min", "client_cpu_max",
               "send_calls_per_gib", "all_syscalls_per_gib", "client_peak_rss_kib",
               "client_peak_rss_1kib_upload_kib", "mock_cpu_s_per_gib_median", "mock_cpu_min",
               "mock_cpu_max"], csv_rows)
    write_csv(os.path.join(outdir, "sweep_runs.csv"),
              ["engine", "chunk_bytes", "run", "wall_s", "user_s", "sys_s", "maxrss_kib",
               "mock_cpu_s", "mibs", "client_cpu_s_per_gib"], raw)
    out(f"## Chunk-size sweep: streamput → streamput-mock, {fmt_size(bench.size)} file, "
        f"median (min–max) of {bench.args.runs} runs\n")
    out(table(["engine", "chunk", "MiB/s", "client CPU s/GiB", "send calls/GiB",
               "all syscalls/GiB", "client peak RSS KiB", "mock CPU s/GiB"], rows))
    out("")
    if sys_counts:
        out(f"Syscalls: strace -f -c of one upload of {fmt_size(bench.sys_size)} minus one of "
            "1 byte, scaled to 1 GiB. Send calls = send/sendto/sendmsg/sendfile/write/writev.")
    tick = 1 / os.sysconf("SC_CLK_TCK") / (bench.size / GiB)
    out(f"Mock CPU is read from /proc/PID/stat in clock ticks: ±{tick:.3f} s/GiB at this size.\n")
    picks = []
    for e in ENGINES:
        c, u, bu, t, bt = plateau_chunk(runs, e, chunks)
        picks.append(c)
        out(f"- {e}: the CPU plateau starts at **{fmt_size(c)}**: client CPU {u:.3f} s/GiB "
            f"(lowest {bu:.3f}); median {t:.0f} MiB/s (highest median of all chunks {bt:.0f})")
    out(f"- smallest chunk on the plateau of both engines: **{fmt_size(max(picks))}**")
    out("")


def paired(runs, a, b, key):
    """Per-round ratios a/b of one figure (interleaved runs pair up round by round)."""
    return [x[key] / y[key] for x, y in zip(runs[a], runs[b]) if x[key] and y[key]]


def report_compare(out, outdir, bench, runs, sys_counts):
    rows, raw, csv_rows = [], [], []
    for name, rs in runs.items():
        sc = sys_counts.get(name, {})
        rows.append([name, spread([r["mibs"] for r in rs], "{:.0f}"),
                     spread([r["cpu_per_gib"] for r in rs], "{:.3f}"),
                     spread([r["peer_per_gib"] for r in rs], "{:.3f}"),
                     f"{max(r['maxrss_kib'] for r in rs):.0f}",
                     fmt_count(sc.get("send_calls")), fmt_count(sc.get("all_calls"))])
        t = [r["mibs"] for r in rs]
        u = [r["cpu_per_gib"] for r in rs]
        csv_rows.append([name, len(rs), statistics.median(t), min(t), max(t),
                         statistics.median(u), min(u), max(u),
                         median_or_none(r["peer_per_gib"] for r in rs) or "",
                         max(r["maxrss_kib"] for r in rs), sc.get("send_calls", ""),
                         sc.get("all_calls", "")])
        for i, r in enumerate(rs):
            raw.append([name, i + 1, r["wall_s"], r["user_s"], r["sys_s"], r["maxrss_kib"],
                        r.get("peer_cpu_s", ""), r["mibs"], r["cpu_per_gib"]])
    write_csv(os.path.join(outdir, "compare.csv"),
              ["contender", "runs", "mibs_median", "mibs_min", "mibs_max", "cpu_s_per_gib_median",
               "cpu_min", "cpu_max", "server_cpu_s_per_gib_median", "peak_rss_kib",
               "send_calls_per_gib", "all_syscalls_per_gib"], csv_rows)
    write_csv(os.path.join(outdir, "compare_runs.csv"),
              ["contender", "round", "wall_s", "user_s", "sys_s", "maxrss_kib", "server_cpu_s",
               "mibs", "cpu_s_per_gib"], raw)
    out(f"## Comparison, interleaved A B C … in each of {bench.args.runs} rounds, "
        f"{fmt_size(bench.size)} file on tmpfs, median (min–max)\n")
    out(table(["contender", "MiB/s", "client CPU s/GiB", "server CPU s/GiB", "peak RSS KiB",
               "send calls/GiB", "all syscalls/GiB"], rows))
    out("\nnginx: Debian's nginx-light, dav_methods PUT, defaults otherwise; nginx 1m: the same "
        "with client_body_buffer_size 1m. ")
    tick = 1 / os.sysconf("SC_CLK_TCK") / (bench.size / GiB)
    out(f"Server CPU is read from /proc/PID/stat in clock ticks: ±{tick:.3f} s/GiB at this size. ")
    out("The raw TCP floor is tcp_floor (sendfile → loopback → recv into 1 MiB → write to "
        "tmpfs); its CPU column counts both ends. cp's CPU is the one copy.\n")


def ratio_rows(runs):
    """(label, per-round ratios, target text, met?) for each target ratio."""
    rows = []

    def add(label, values, target, ok):
        if not values:  # e.g. a server CPU of 0 ticks in every round of a small run
            rows.append((label, None, None, None, target, None))
            return
        med = statistics.median(values)
        rows.append((label, med, min(values), max(values), target, ok(med)))

    sp, curl, orig = "streamput → mock", "curl -T → mock", "orig_1k → mock"
    ngx, ngx1m = "streamput → nginx", "streamput → nginx 1m"
    floor, cp = "raw TCP floor", "cp to tmpfs"
    add("client CPU/GiB: streamput ÷ curl -T", paired(runs, sp, curl, "cpu_per_gib"),
        f"≤ {T_CPU_VS_CURL}", lambda m: m <= T_CPU_VS_CURL)
    add("throughput: streamput→mock ÷ raw TCP floor", paired(runs, sp, floor, "mibs"),
        f"≥ {T_TPUT_VS_FLOOR}", lambda m: m >= T_TPUT_VS_FLOOR)
    add("throughput: streamput→mock ÷ streamput→nginx", paired(runs, sp, ngx, "mibs"),
        f"≥ {T_MOCK_VS_NGINX}", lambda m: m >= T_MOCK_VS_NGINX)
    add("server CPU/GiB: mock ÷ nginx", paired(runs, sp, ngx, "peer_per_gib"), "(info)",
        lambda m: None)
    add("throughput: streamput→mock ÷ streamput→nginx 1m", paired(runs, sp, ngx1m, "mibs"),
        "(info)", lambda m: None)
    add("server CPU/GiB: mock ÷ nginx 1m", paired(runs, sp, ngx1m, "peer_per_gib"), "(info)",
        lambda m: None)
    add("throughput: streamput ÷ curl -T (same mock)", paired(runs, sp, curl, "mibs"), "(info)",
        lambda m: None)
    add("throughput: streamput ÷ orig_1k (same mock)", paired(runs, sp, orig, "mibs"), "(info)",
        lambda m: None)
    add("client CPU/GiB: streamput ÷ orig_1k", paired(runs, sp, orig, "cpu_per_gib"), "(info)",
        lambda m: None)
    add("throughput: raw TCP floor ÷ cp", paired(runs, floor, cp, "mibs"), "(info)",
        lambda m: None)
    return rows


def verdict(ok):
    return "—" if ok is None else ("**met**" if ok else "**missed**")


def report_ratios(out, runs, rss_rows):
    rows = [[label, "n/a", "", target, "—"] if med is None else
            [label, f"{med:.2f}", f"{lo:.2f}–{hi:.2f}", target, verdict(ok)]
            for label, med, lo, hi, target, ok in ratio_rows(runs)]
    rows += rss_rows
    out("## Ratios and targets (median of the per-round ratios, min–max over rounds)\n")
    out(table(["figure", "median", "range", "target", "verdict"], rows))
    out("")


def memory_rows(bench, sweep_runs, compare_runs, rss_base, mock_hwm):
    rows = []
    if compare_runs:
        rss = max(r["maxrss_kib"] for r in compare_runs["streamput → mock"])
        curl = max(r["maxrss_kib"] for r in compare_runs["curl -T → mock"])
        rows.append(["client peak RSS, streamput defaults (curl -T: "
                     f"{curl / KiB:.1f} MiB)", f"{rss / KiB:.2f} MiB", "",
                     f"≤ {T_CLIENT_RSS_KIB // KiB} MiB", verdict(rss <= T_CLIENT_RSS_KIB)])
    if sweep_runs and rss_base:
        growth = {cell: max(r["maxrss_kib"] for r in sweep_runs[cell]) - base
                  for cell, base in rss_base.items()}
        worst = max(growth, key=growth.get)
        bad = sorted(c for c, g in growth.items() if g > T_CLIENT_RSS_GROWTH_KIB)
        note = (f"over: {', '.join(f'{e} {fmt_size(c)}' for e, c in bad)}" if bad
                else "all cells")
        rows.append([f"client peak RSS growth {fmt_size(bench.size)} vs 1 KiB upload, worst "
                     f"cell ({worst[0]} {fmt_size(worst[1])}; chunks ≤ 1M)",
                     f"{growth[worst]:.0f} KiB", note,
                     f"≤ {T_CLIENT_RSS_GROWTH_KIB} KiB",
                     verdict(growth[worst] <= T_CLIENT_RSS_GROWTH_KIB)])
    if mock_hwm:
        base, one, end, uploads = mock_hwm
        rows.append([f"mock peak RSS (VmHWM) growth: one {fmt_size(bench.size)} body after one "
                     "4 KiB body, fresh mock", f"+{one - base} KiB", f"{base} → {one} KiB",
                     f"≤ +{T_MOCK_RSS_GROWTH_KIB} KiB",
                     verdict(one - base <= T_MOCK_RSS_GROWTH_KIB)])
        rows.append([f"mock VmHWM after all {uploads} uploads of the run (the request journal "
                     "keeps the last 1000)", f"+{end - base} KiB", f"{base} → {end} KiB",
                     "(info)", "—"])
    return rows


ENGINE_RATIOS = (
    # (label, numerator, denominator, figure)
    ("wall rw ÷ sendfile", "streamput -e rw", "streamput -e sendfile", "wall_s"),
    ("wall default ÷ rw", "streamput (default)", "streamput -e rw", "wall_s"),
    ("wall rw ÷ curl", "streamput -e rw", "curl -T", "wall_s"),
    ("wall sendfile ÷ curl", "streamput -e sendfile", "curl -T", "wall_s"),
    ("client CPU sendfile ÷ rw", "streamput -e sendfile", "streamput -e rw", "cpu_per_gib"),
    ("client CPU rw ÷ curl", "streamput -e rw", "curl -T", "cpu_per_gib"),
    ("client CPU sendfile ÷ curl", "streamput -e sendfile", "curl -T", "cpu_per_gib"),
    ("mock CPU sendfile ÷ rw", "streamput -e sendfile", "streamput -e rw", "peer_per_gib"),
)


def report_engines(out, outdir, bench, sections):
    """The engines part: one table of figures and one of per-round ratios over every path."""
    rows, csv_rows, raw, ratio_csv = [], [], [], []
    for sec in sections:
        for name, rs in sec["runs"].items():
            wall = [r["wall_s"] for r in rs]
            mibs = [r["mibs"] for r in rs]
            cpu = [r["cpu_per_gib"] for r in rs]
            mock = [r["peer_per_gib"] for r in rs]
            both = [c + m for c, m in zip(cpu, mock) if m is not None]
            rows.append([sec["path"], fmt_size(sec["size"]), name, spread(wall, "{:.2f}"),
                         spread(mibs, "{:.0f}"), spread(cpu, "{:.3f}"), spread(mock, "{:.2f}"),
                         spread(both, "{:.2f}")])
            m = [v for v in mock if v is not None]
            csv_rows.append([sec["path"], sec["size"], name, len(rs), statistics.median(wall),
                             min(wall), max(wall), statistics.median(mibs),
                             statistics.median(cpu), min(cpu), max(cpu),
                             statistics.median(m) if m else "", min(m) if m else "",
                             max(m) if m else ""])
            for r in rs:
                raw.append([sec["path"], sec["size"], name, r["round"], r["pos"], r["wall_s"],
                            r["user_s"], r["sys_s"], r["maxrss_kib"], r.get("peer_cpu_s", ""),
                            r["mibs"], r["cpu_per_gib"], r["load1"]])
    write_csv(os.path.join(outdir, "engines.csv"),
              ["path", "bytes", "contender", "runs", "wall_s_median", "wall_s_min", "wall_s_max",
               "mibs_median", "client_cpu_s_per_gib_median", "client_cpu_min", "client_cpu_max",
               "mock_cpu_s_per_gib_median", "mock_cpu_min", "mock_cpu_max"], csv_rows)
    write_csv(os.path.join(outdir, "engines_runs.csv"),
              ["path", "bytes", "contender", "round", "position", "wall_s", "user_s", "sys_s",
               "maxrss_kib", "mock_cpu_s", "mibs", "client_cpu_s_per_gib", "load1"], raw)
    out(f"## Engines: rw, sendfile, the default and curl -T, {bench.args.runs} interleaved "
        "rounds (order reversed every other round), median (min–max)\n")
    out(table(["path", "file", "contender", "wall s", "MiB/s", "client CPU s/GiB",
               "mock CPU s/GiB", "client + mock s/GiB"], rows))
    out("")
    for sec in sections:
        loads = [r["load1"] for rs in sec["runs"].values() for r in rs]
        out(f"- {sec['path']}: {sec['qdisc']}; 1-minute load average during the runs "
            f"{min(loads):.1f}–{max(loads):.1f}")
    out("")
    header, rows = ["path"] + [label for label, *_ in ENGINE_RATIOS], []
    for sec in sections:
        row = [sec["path"]]
        for label, a, b, key in ENGINE_RATIOS:
            values = paired(sec["runs"], a, b, key)
            row.append(spread(values, "{:.2f}"))
            if values:
                ratio_csv.append([sec["path"], label, statistics.median(values), min(values),
                                  max(values), len(values)])
        rows.append(row)
    write_csv(os.path.join(outdir, "engines_ratios.csv"),
              ["path", "ratio", "median", "min", "max", "rounds"], ratio_csv)
    out("### Per-round ratios, median (min–max) over rounds (below 1: the first is faster or "
        "cheaper)\n")
    out(table(header, rows))
    out("")
    for sec in sections:
        w = median_or_none(paired(sec["runs"], "streamput -e rw", "streamput -e sendfile",
                                  "wall_s"))
        c = median_or_none(paired(sec["runs"], "streamput -e sendfile", "streamput -e rw",
                                  "cpu_per_gib"))
        if w is None or c is None:
            continue
        # Within 3% the two are the same: a shaped link sets the pace, not the engine.
        pace = ("the same wall time within 3%" if 0.97 <= w <= 1.03 else
                f"{'rw' if w < 1 else 'sendfile'} is faster end to end")
        out(f"- {sec['path']}: {pace} (wall rw ÷ sendfile {w:.2f}); "
            f"sendfile costs the client {c:.2f} × rw's CPU")
    out("")


def kernel_tls():
    """Whether this kernel can encrypt TLS records itself (kTLS): its tls module, or its config."""
    if os.path.isdir("/sys/module/tls"):
        return "the kernel's tls module is loaded"
    try:
        import gzip
        with gzip.open("/proc/config.gz", "rt") as f:
            line = next((l.strip() for l in f if re.match(r"(# )?CONFIG_TLS[ =]", l)), None)
    except OSError:
        return "the kernel's tls module is not loaded (no /proc/config.gz to say more)"
    if line == "CONFIG_TLS=m":
        return "the kernel's tls module is built but not loaded (modprobe tls)"
    return f"the kernel has no TLS ({line or 'no CONFIG_TLS'} in /proc/config.gz)"


# (label, numerator, denominator, figure, target, test of the median; None: information only)
HTTPS_RATIOS = (
    ("client CPU/GiB: streamput ÷ curl -T", "streamput (default)", "curl -T", "cpu_per_gib",
     f"≤ {T_HTTPS_CPU_VS_CURL}", lambda m: m <= T_HTTPS_CPU_VS_CURL),
    ("throughput: streamput ÷ curl -T", "streamput (default)", "curl -T", "mibs",
     f"≥ {T_HTTPS_TPUT_VS_CURL}", lambda m: m >= T_HTTPS_TPUT_VS_CURL),
    ("client CPU/GiB: -e sendfile ÷ curl -T", "streamput -e sendfile", "curl -T", "cpu_per_gib",
     "(info)", None),
    ("throughput: -e sendfile ÷ curl -T", "streamput -e sendfile", "curl -T", "mibs", "(info)",
     None),
    ("client CPU/GiB: -e sendfile ÷ default", "streamput -e sendfile", "streamput (default)",
     "cpu_per_gib", "(info)", None),
    ("client peak RSS: streamput ÷ curl -T", "streamput (default)", "curl -T", "maxrss_kib",
     "(info)", None),
    ("server CPU/GiB: streamput's upload ÷ curl's", "streamput (default)", "curl -T",
     "peer_per_gib", "(info)", None),
)


def report_https(out, outdir, bench, sections):
    """The https part: figures per server and contender, the negotiated sessions, and the
    per-round ratios with the targets."""
    rows, csv_rows, raw, ratio_rows, ratio_csv, tls_rows = [], [], [], [], [], []
    for sec in sections:
        for name, rs in sec["runs"].items():
            sc = sec["syscalls"].get(name, {})
            top = sorted(sc.get("per_call", {}).items(), key=lambda kv: -kv[1])[:3]
            wall, mibs, cpu, rss = ([r[k] for r in rs]
                                    for k in ("wall_s", "mibs", "cpu_per_gib", "maxrss_kib"))
            server = [r["peer_per_gib"] for r in rs if r["peer_per_gib"] is not None]
            rows.append([sec["path"], name, spread(wall, "{:.2f}"), spread(mibs, "{:.0f}"),
                         spread(cpu, "{:.3f}"), spread(server, "{:.2f}"), spread(rss, "{:.0f}"),
                         fmt_count(sc.get("send_calls")), fmt_count(sc.get("all_calls")),
                         ", ".join(f"{k} {fmt_count(v)}" for k, v in top) or "n/a"])
            csv_rows.append([sec["path"], sec["size"], name, len(rs), statistics.median(wall),
                             min(wall), max(wall), statistics.median(mibs),
                             statistics.median(cpu), min(cpu), max(cpu),
                             median_or_none(server) or "", statistics.median(rss), max(rss),
                             sc.get("send_calls", ""), sc.get("all_calls", ""),
                             sec["sessions"][name]["session"]])
            for r in rs:
                raw.append([sec["path"], sec["size"], name, r["round"], r["pos"], r["wall_s"],
                            r["user_s"], r["sys_s"], r["maxrss_kib"], r.get("peer_cpu_s", ""),
                            r["mibs"], r["cpu_per_gib"], r["load1"]])
            ses = sec["sessions"][name]
            tls_rows.append([sec["path"], name, ses["session"], ses["ktls"], ses["note"] or "—"])
        for label, a, b, key, target, test in HTTPS_RATIOS:
            values = paired(sec["runs"], a, b, key)
            if not values:
                ratio_rows.append([sec["path"], label, "n/a", "", target, "—"])
                continue
            med = statistics.median(values)
            ratio_rows.append([sec["path"], label, f"{med:.2f}",
                               f"{min(values):.2f}–{max(values):.2f}", target,
                               verdict(test(med) if test else None)])
            ratio_csv.append([sec["path"], label, med, min(values), max(values), len(values),
                              target])
    write_csv(os.path.join(outdir, "https.csv"),
              ["server", "bytes", "contender", "runs", "wall_s_median", "wall_s_min",
               "wall_s_max", "mibs_median", "client_cpu_s_per_gib_median", "client_cpu_min",
               "client_cpu_max", "server_cpu_s_per_gib_median", "client_peak_rss_kib_median",
               "client_peak_rss_kib_max", "send_calls_per_gib", "all_syscalls_per_gib",
               "tls_session"], csv_rows)
    write_csv(os.path.join(outdir, "https_runs.csv"),
              ["server", "bytes", "contender", "round", "position", "wall_s", "user_s", "sys_s",
               "maxrss_kib", "server_cpu_s", "mibs", "client_cpu_s_per_gib", "load1"], raw)
    write_csv(os.path.join(outdir, "https_ratios.csv"),
              ["server", "ratio", "median", "min", "max", "rounds", "target"], ratio_csv)
    out(f"## HTTPS: streamput and curl -T, {fmt_size(bench.size)} file on tmpfs, "
        f"{bench.args.runs} interleaved rounds (order reversed every other round), "
        "median (min–max)\n")
    out(table(["server", "contender", "wall s", "MiB/s", "client CPU s/GiB", "server CPU s/GiB",
               "client peak RSS KiB", "send calls/GiB", "all syscalls/GiB",
               "most frequent calls/GiB"], rows))
    out("")
    for sec in sections:
        loads = [r["load1"] for rs in sec["runs"].values() for r in rs]
        out(f"- {sec['path']}: 1-minute load average during the runs "
            f"{min(loads):.1f}–{max(loads):.1f}")
    out(f"- Both clients are pinned to TLS 1.3 and {HTTPS_SUITE} (OPENSSL_CONF naming only "
        "those, read by the libssl both use). The mock is streamput-mock --tls-self-signed "
        "(GnuTLS through libmicrohttpd); nginx serves `listen … ssl` with an EC P-256 "
        "certificate made by `openssl req -x509`, `client_body_buffer_size 1m`, otherwise as in "
        "the comparison.")
    if any(sec["syscalls"] for sec in sections):
        out(f"- Syscalls: strace -f -c of one upload of {fmt_size(bench.sys_size)} minus one of "
            "1 byte, scaled to 1 GiB.")
    out("")
    out("### Negotiated sessions (one 1 KiB upload with -v before the timed runs)\n")
    out(table(["server", "contender", "protocol / cipher", "kTLS", "engine"], tls_rows))
    out("")
    version = subprocess.run([bench.tools["openssl"], "version"], capture_output=True,
                             timeout=10).stdout.decode(errors="replace").strip()
    out(f"- libssl of both clients: {version}.")
    for sec in sections:
        agreed = {ses["session"] for ses in sec["sessions"].values()}
        if len(agreed) > 1:
            out(f"- **{sec['path']}: the contenders negotiated different sessions** "
                f"({', '.join(sorted(agreed))}): their CPU figures do not compare like for like.")
    out("")
    out("### Per-round ratios and targets (median of the per-round ratios, min–max over rounds)"
        "\n")
    ktls = [ses["ktls"] for sec in sections for ses in sec["sessions"].values()
            if ses["ktls"] != "not reported"]
    in_use = any(re.match(r"send on", k) for k in ktls)
    ratio_rows.append(["both", "client CPU/GiB with kTLS: streamput -e sendfile ÷ curl -T",
                       "n/a", "", f"≤ {T_KTLS_CPU_VS_CURL}",
                       "—" if in_use else "cannot be shown here"])
    out(table(["server", "figure", "median", "range", "target", "verdict"], ratio_rows))
    out("")
    out(f"- kTLS: streamput -v said \"{', '.join(sorted(set(ktls))) or 'nothing'}\"; "
        f"{kernel_tls()}. Without kTLS every byte is encrypted by libssl in user space, so "
        "`-e sendfile` has no sendfile to use and sends with read/send like the default; the "
        f"≤ {T_KTLS_CPU_VS_CURL} × curl goal for sendfile with kTLS cannot be measured on this "
        "machine.")
    out("")


def report_multipart(out, outdir, bench, sections):
    """The multipart part: figures per size and contender, then per-round ratios to the PUT."""
    rows, raw, ratio_rows, ratio_csv = [], [], [], []
    for sec in sections:
        size = fmt_size(sec["size"])
        for name, rs in sec["runs"].items():
            mibs, cpu, rss, hwm = ([r[k] for r in rs]
                                   for k in ("mibs", "cpu_per_gib", "maxrss_kib", "mock_hwm_kib"))
            server = [r["peer_per_gib"] for r in rs if r["peer_per_gib"] is not None]
            rows.append([size, name, spread(mibs, "{:.0f}"), spread(cpu, "{:.3f}"),
                         spread(server, "{:.3f}"), spread(rss, "{:.0f}"), spread(hwm, "{:.0f}")])
            for r in rs:
                raw.append([sec["size"], name, r["round"], r["pos"], r["wall_s"], r["user_s"],
                            r["sys_s"], r["maxrss_kib"], r.get("peer_cpu_s", ""),
                            r["mock_hwm_kib"], r["mibs"], r["cpu_per_gib"], r["load1"]])
        for name in sec["runs"]:
            if name == "PUT":
                continue
            tput = paired(sec["runs"], name, "PUT", "mibs")
            cpu = paired(sec["runs"], name, "PUT", "cpu_per_gib")
            tm, cm = statistics.median(tput), statistics.median(cpu)
            ratio_rows.append([size, name, f"{tm:.2f}", f"{min(tput):.2f}–{max(tput):.2f}",
                               verdict(tm >= T_MP_TPUT_VS_PUT), f"{cm:.2f}",
                               f"{min(cpu):.2f}–{max(cpu):.2f}", verdict(cm <= T_MP_CPU_VS_PUT)])
            ratio_csv.append([sec["size"], name, tm, min(tput), max(tput), cm, min(cpu),
                              max(cpu), len(tput)])
    write_csv(os.path.join(outdir, "multipart_runs.csv"),
              ["bytes", "contender", "round", "position", "wall_s", "user_s", "sys_s",
               "maxrss_kib", "mock_cpu_s", "mock_hwm_kib", "mibs", "client_cpu_s_per_gib",
               "load1"], raw)
    write_csv(os.path.join(outdir, "multipart_ratios.csv"),
              ["bytes", "contender", "tput_vs_put_median", "tput_min", "tput_max",
               "cpu_vs_put_median", "cpu_min", "cpu_max", "rounds"], ratio_csv)
    out(f"## Multipart: lanes against one PUT to the mock (10 MiB chunks), files on tmpfs, "
        f"{bench.args.runs} interleaved rounds, median (min–max)\n")
    out(table(["size", "contender", "MiB/s", "client CPU s/GiB", "mock CPU s/GiB",
               "client peak RSS KiB", "mock peak RSS KiB"], rows))
    out("")
    out("### Per-round ratios to the PUT of the same round\n")
    out(table(["size", "contender", "throughput", "range", f"≥ {T_MP_TPUT_VS_PUT}",
               "client CPU/GiB", "range", f"≤ {T_MP_CPU_VS_PUT}"], ratio_rows))
    out("")
    out("- The mock's peak RSS is reset before each run (/proc/PID/clear_refs 5) and read after "
        "it. Client CPU is user + system time of the whole process, every lane's thread.")
    out("")


# (label, numerator, denominator, figure) of the many part's per-round ratios; the first is
# judged, against the target of its workload.
MANY_SP, MANY_CURL = "streamput --parallel", "curl --parallel -T {…}"
MANY_XARGS, MANY_MOCK = "xargs -P: streamput per file", "streamput --parallel → mock"
MANY_RATIOS = (
    ("throughput streamput ÷ curl", MANY_SP, MANY_CURL, "files_s"),
    ("client CPU streamput ÷ curl", MANY_SP, MANY_CURL, "cpu_s"),
    ("server CPU streamput's ÷ curl's", MANY_SP, MANY_CURL, "peer_cpu_s"),
    ("throughput per-file ÷ curl", MANY_XARGS, MANY_CURL, "files_s"),
    ("client CPU per-file ÷ curl", MANY_XARGS, MANY_CURL, "cpu_s"),
    ("throughput to mock ÷ to nginx", MANY_MOCK, MANY_SP, "files_s"),
)


def many_target(workload):
    """The target of the judged ratio: files/s on small files, MiB/s on large ones (the same
    ratio, as both contenders move the same bytes)."""
    if workload == "small":
        return "files/s", T_MANY_SMALL_FILES_VS_CURL
    return "MiB/s", T_MANY_LARGE_TPUT_VS_CURL


def report_many(out, outdir, bench, sections):
    """The many part: figures per workload, N and contender, then the per-round ratios."""
    rows, csv_rows, raw, ratio_rows, ratio_csv = [], [], [], [], []
    for sec in sections:
        work = f"{sec['count']} x {fmt_size(sec['size'])}"
        for name, rs in sec["runs"].items():
            files, mibs, cpu, rss = ([r[k] for r in rs]
                                     for k in ("files_s", "mibs", "cpu_s", "maxrss_kib"))
            server = [r["peer_cpu_s"] for r in rs if r.get("peer_cpu_s") is not None]
            rows.append([work, sec["n"], name, spread(files, "{:.0f}"), spread(mibs, "{:.1f}"),
                         spread(cpu, "{:.2f}"), spread(server, "{:.2f}"),
                         spread([c / sec["count"] * 1e3 for c in cpu], "{:.3f}"),
                         f"{max(rss):.0f}"])
            csv_rows.append([sec["workload"], sec["count"], sec["size"], sec["n"], name, len(rs),
                             statistics.median(files), min(files), max(files),
                             statistics.median(mibs), statistics.median(cpu), min(cpu),
                             max(cpu), median_or_none(server) or "", max(rss)])
            for r in rs:
                raw.append([sec["workload"], sec["count"], sec["size"], sec["n"], name,
                            r["round"], r["pos"], r["wall_s"], r["user_s"], r["sys_s"],
                            r["maxrss_kib"], r.get("peer_cpu_s", ""), r["files_s"], r["mibs"],
                            r["load1"]])
        unit, goal = many_target(sec["workload"])
        for i, (label, a, b, key) in enumerate(MANY_RATIOS):
            values = paired(sec["runs"], a, b, key)
            target, ok = (f"{unit} ≥ {goal}", None) if i == 0 else ("(info)", None)
            if not values:
                ratio_rows.append([work, sec["n"], label, "n/a", "", target, "—"])
                continue
            med = statistics.median(values)
            if i == 0:
                ok = med >= goal
            ratio_rows.append([work, sec["n"], label, f"{med:.2f}",
                               f"{min(values):.2f}–{max(values):.2f}", target, verdict(ok)])
            ratio_csv.append([sec["workload"], sec["count"], sec["size"], sec["n"], label, med,
                              min(values), max(values), len(values),
                              f"{goal}" if i == 0 else ""])
    write_csv(os.path.join(outdir, "many.csv"),
              ["workload", "files", "file_bytes", "parallel", "contender", "runs",
               "files_s_median", "files_s_min", "files_s_max", "mibs_median",
               "client_cpu_s_median", "client_cpu_s_min", "client_cpu_s_max",
               "server_cpu_s_median", "client_peak_rss_kib_max"], csv_rows)
    write_csv(os.path.join(outdir, "many_runs.csv"),
              ["workload", "files", "file_bytes", "parallel", "contender", "round", "position",
               "wall_s", "user_s", "sys_s", "maxrss_kib", "server_cpu_s", "files_s", "mibs",
               "load1"], raw)
    write_csv(os.path.join(outdir, "many_ratios.csv"),
              ["workload", "files", "file_bytes", "parallel", "ratio", "median", "min", "max",
               "rounds", "target_min"], ratio_csv)
    out(f"## Many files: a flat directory to nginx's PUT, {bench.args.runs} interleaved rounds "
        "(order reversed every other round), median (min–max)\n")
    out(table(["files", "N", "contender", "files/s", "MiB/s", "client CPU s",
               "server CPU s", "client CPU ms/file", "client peak RSS KiB"], rows))
    out("")
    loads = [r["load1"] for sec in sections for rs in sec["runs"].values() for r in rs]
    out(f"- nginx: Debian's nginx-light, `dav_methods PUT; create_full_put_path on; "
        f"client_max_body_size 0; keepalive_requests {NGINX_KEEPALIVE_REQUESTS};`, defaults "
        "otherwise (master_process off: its CPU is one /proc file). The last contender uploads "
        "to streamput-mock instead (File-Path under --remote-dir).")
    out("- N is each contender's parallelism: streamput --parallel N, curl --parallel-max N, "
        "xargs -P N. Client CPU is user + system time of the whole run from wait4(), for xargs "
        "including every streamput it waited for; server CPU is the server's /proc/PID/stat "
        "over the same window.")
    out("- Every run's stored tree is checked for its names and sizes, the warm-up's byte for "
        "byte; the tree is removed between runs, outside the timed window.")
    for sec in sections:
        if sec["curl_conf"]:
            out(f"- {sec['count']} files, N={sec['n']}: curl read its -T glob from a config file "
                "(-K): as one argument it would be longer than execve() takes (MAX_ARG_STRLEN)")
    out(f"- 1-minute load average during the runs {min(loads):.1f}–{max(loads):.1f}")
    out("")
    out("### Per-round ratios, median (min–max) over rounds\n")
    out(table(["files", "N", "ratio", "median", "range", "target", "verdict"], ratio_rows))
    out("")


def environment(bench):
    def first_line(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=10)
            return (p.stdout or p.stderr).decode(errors="replace").splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    commit = first_line(["git", "-C", REPO, "describe", "--always", "--dirty"])
    return [
        f"- when: {datetime.datetime.now().isoformat(timespec='seconds')}; commit {commit}",
        f"- machine: {platform.node()}, Linux {platform.release()}, {os.cpu_count()} CPUs "
        f"({cpu}), {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // GiB} GiB RAM",
        f"- {first_line([bench.tools['streamput'], '--version'])}; "
        f"{first_line([bench.tools['curl'], '--version'])[:40]}; "
        f"{first_line([bench.tools['nginx'], '-v'])}",
        f"- files on {os.path.dirname(bench.tmp)}; size {fmt_size(bench.size)}; "
        f"{bench.args.runs} runs per cell; load average at start {loadavg()}",
    ]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 64M file, 3 runs, 16M strace file (< 1 minute)")
    ap.add_argument("--size", type=parse_size, help="file size (default 1G; --quick 64M)")
    ap.add_argument("--runs", type=int, help="runs per cell (default 5; --quick 3)")
    ap.add_argument("--only", default="sweep,compare",
                    help="comma-separated parts: sweep, compare, engines, link, https, "
                         "multipart, many (default sweep,compare)")
    ap.add_argument("--mp-sizes", default=None,
                    help=f"file sizes of the multipart part (default {MP_SIZES}; --quick 64M)")
    ap.add_argument("--many-small", type=int,
                    help=f"files of the many part's small workload (default {MANY_SMALL}; "
                         "--quick 1000; 0 skips it)")
    ap.add_argument("--many-large", type=int,
                    help=f"files of its large workload (default {MANY_LARGE}; --quick 20; "
                         "0 skips it)")
    ap.add_argument("--many-small-size", type=parse_size, default=MANY_SMALL_SIZE,
                    help=f"size of each small file (default {fmt_size(MANY_SMALL_SIZE)})")
    ap.add_argument("--many-large-size", type=parse_size, default=MANY_LARGE_SIZE,
                    help=f"size of each large file (default {fmt_size(MANY_LARGE_SIZE)})")
    ap.add_argument("--many-parallel", default=MANY_PARALLEL,
                    help=f"comma-separated N of the many part (default {MANY_PARALLEL})")
    ap.add_argument("--rates", default=LINK_RATES,
                    help=f"tbf rates of the link part, 'none' = unshaped (default {LINK_RATES})")
    ap.add_argument("--chunks", help="comma-separated chunk sizes (default 1K,2K,...,8M)")
    ap.add_argument("--strace-size", type=parse_size,
                    help="file size for the strace runs (default 64M; --quick 16M)")
    ap.add_argument("--no-strace", action="store_true", help="skip the syscall counts")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"),
                    help="directory with streamput, streamput-mock and the bench programs "
                         "(default: build/bin)")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"),
                    help="results go to OUT/<timestamp>/ (default: bench/results)")
    args = ap.parse_args()
    parts = set(args.only.split(","))
    # The many part reads --size only for the mock's memory rows: a small file will do.
    args.size = args.size or (64 * MiB if args.quick or parts == {"many"} else GiB)
    args.runs = args.runs or (3 if args.quick else 5)
    args.strace_size = args.strace_size or (16 * MiB if args.quick else 64 * MiB)
    args.chunks = (sorted(parse_size(c) for c in args.chunks.split(",")) if args.chunks
                   else list(CHUNKS))
    if not parts <= {"sweep", "compare", "engines", "link", "https", "multipart", "many"} \
            or not parts:
        ap.error("--only takes sweep, compare, engines, link, https, multipart, many")
    args.many_small = (1000 if args.quick else MANY_SMALL) if args.many_small is None \
        else args.many_small
    args.many_large = (20 if args.quick else MANY_LARGE) if args.many_large is None \
        else args.many_large
    try:
        args.many_parallel = [int(n) for n in args.many_parallel.split(",")]
    except ValueError:
        ap.error(f"--many-parallel takes numbers: {args.many_parallel!r}")
    if not all(1 <= n <= 64 for n in args.many_parallel) or args.many_small < 0 \
            or args.many_large < 0 or not args.many_small_size or not args.many_large_size:
        ap.error("--many-parallel takes 1..64 (streamput's range), --many-small and "
                 "--many-large 0 or more, the sizes 1 byte or more")
    args.mp_sizes = [parse_size(x) for x in
                     (args.mp_sizes or ("64M" if args.quick else MP_SIZES)).split(",")]
    try:
        args.rates = args.rates.split(",")
        for r in args.rates:
            parse_rate(r)
    except argparse.ArgumentTypeError as e:
        ap.error(str(e))
    if args.runs < 1 or args.runs > 100 or args.size < 1 or args.size > 64 * GiB:
        ap.error("--runs must be 1..100 and --size 1..64G")
    if "sweep" in parts and MiB not in args.chunks:
        args.chunks = sorted(set(args.chunks) | {MiB})  # warm-up and full check use 1M

    # SIGTERM/SIGHUP (ctest's timeout, a closed terminal) unwind through the cleanup below.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))

    bench = Bench(args)
    try:
        bench.check_tools()
        if "link" in parts:
            bench.check_link_tools()
        if "https" in parts:
            bench.check_https_tools()
        if "many" in parts:
            bench.check_many_tools()
    except Missing as e:
        print(f"bench: {e}", file=sys.stderr)
        return SKIP

    outdir = os.path.join(args.out, time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    lines = []

    def out(text=""):
        print(text, flush=True)
        lines.append(text)

    t0 = time.monotonic()
    try:
        bench.setup()
        out(f"# streamput benchmarks ({'quick' if args.quick else 'full'})\n")
        for line in environment(bench):
            out(line)
        out("")
        mock = bench.start_mock()
        # The mock's RSS baseline: right after one 4 KiB upload.
        small = os.path.join(bench.tmp, "4k.bin")
        write_source(small, 4 * KiB)
        bench.upload("mock baseline", bench.streamput_cmd(mock.url, small), [mock.pid],
                     os.path.join(mock.store_dir, "bench.bin"), 4 * KiB)
        mock_base = proc_vmhwm_kib(mock.pid)
        # Then one body of the full size: the growth is what the body's size costs.
        # Later uploads add journal entries, so the figure at the end is shown apart.
        bench.upload("mock one body", bench.streamput_cmd(mock.url, bench.src), [mock.pid],
                     os.path.join(mock.store_dir, "bench.bin"))
        mock_one = proc_vmhwm_kib(mock.pid)

        sweep_runs = sweep_sys = compare_runs = compare_sys = None
        rss_base = {}
        if "sweep" in parts:
            sweep_runs, sweep_sys = bench.sweep(mock)
            rss_base = bench.rss_baselines(mock)
            report_sweep(out, outdir, bench, sweep_runs, sweep_sys, rss_base)
            png = plot(outdir, sweep_runs, args.chunks, bench.tools["gnuplot"])
            out(f"Plot: {png}\n")
        if "compare" in parts:
            nginx = bench.start_nginx("nginx")
            # The same with a 1 MiB body buffer (the default reads and writes 8 KiB at a time).
            nginx_1m = bench.start_nginx("nginx-1m", "client_body_buffer_size 1m;")
            compare_runs, compare_sys = bench.compare(mock, nginx, nginx_1m)
            report_compare(out, outdir, bench, compare_runs, compare_sys)
        sections = []
        if "engines" in parts:
            sections.append(bench.engines_loopback(mock))
        if "link" in parts:
            sections += bench.engines_link()
        if sections:
            report_engines(out, outdir, bench, sections)
        if "https" in parts:
            report_https(out, outdir, bench, bench.https())
        if "multipart" in parts:
            report_multipart(out, outdir, bench, bench.multipart())
        if "many" in parts:
            report_many(out, outdir, bench, bench.many(mock))
        mock_hwm = (mock_base, mock_one, proc_vmhwm_kib(mock.pid), bench.mock_uploads)
        rss_rows = memory_rows(bench, sweep_runs, compare_runs, rss_base, mock_hwm)
        if compare_runs:
            report_ratios(out, compare_runs, rss_rows)
        else:
            out("## Memory\n")
            out(table(["figure", "value", "detail", "target", "verdict"], rss_rows))
            out("")
        if bench.failures:
            out(f"## Failures seen ({len(bench.failures)})\n")
            out("A failed timed run is repeated (3 tries at most); a strace run whose body was "
                "stored complete keeps its counts.\n")
            for f in bench.failures:
                out(f"- {f}")
            out("")
        out(f"Load average at the end: {loadavg()}. Results: {outdir} "
            f"({time.monotonic() - t0:.0f} s)")
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        bench.cleanup()
        with open(os.path.join(outdir, "summary.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
