#!/usr/bin/env python3
"""streamput soak: minutes of mixed traffic against the mock, then proof that nothing drifted.

    bench/soak.py [--duration SECONDS] [--workers N] [--seed N] [--bin DIR]

Two streamput-mock processes run for the whole soak, one plain HTTP and one HTTPS (a listener
serves one or the other, never both, so "one mock" is one of each, started once and checked
alike). --workers threads (default 4) loop until --duration (default 600 s) runs out, each on
its own paths (/wN/...) of a mock picked per operation, running streamput and urllib:

  put         single PUTs of pool files (0 B .. 32 MiB), some with a slowing fault
  stdin       single PUTs of standard input (chunked, or with --size)
  multipart   --multipart always; some with chunk faults the client retries through
  resume      multipart interrupted (SIGINT while rate-limited, or a session drop), then the
              same command again, which must finish it
  abandon     multipart interrupted and never resumed: its session must expire
  batch       -r --parallel 4 over a small tree
  login       streamput login, then a PUT with its token; or -u with --password-file
  download    GET /d/PATH (signed via /api/fs/get), whole or a Range, against the source
  fail        PUTs the mock fails (reset-after, code=500, status=503 with --retry), or killed
              mid-body: nothing may be stored, the previous file must stay

Each success records the path's source (the last success per path wins; no two workers share a
path); each failure checks at once that the path still holds what it held. After the traffic,
the mocks settle (multipart expiry plus its sweep) and then, for each mock:

  - the files under its root are exactly the recorded ones, each byte-equal (SHA-256) to its
    source; no temp file (.streamput-tmp.*) is left;
  - its open fds equal, and its VmRSS is within 1 MiB of, the "start level": both measured
    after a warm-up that ran every kind of operation once and settled the same way (the first
    TLS handshake, login, multipart session and thread stack allocate what later ones reuse);
    for the HTTPS mock on a GnuTLS older than 3.8.0, less 224 bytes for each connection it
    accepted meanwhile (see GNUTLS_PER_THREAD; the report shows the growth with and without);
  - it exits 0 on SIGTERM.

Under a sanitizer build (--bin build-asan/bin), every process logs to a directory of the
temporary tree: any report fails the soak. ASan's quarantine holds freed memory by design, so
there the RSS is shown but not judged.

Exit status: 0 all checks held, 1 a check failed, 2 usage, 77 a binary is missing. Python's
standard library only; files on /dev/shm, removed on exit; the mocks die with the driver.
"""

import argparse
import ctypes
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the benchmark driver's helpers: one copy of each)

KiB, MiB = bench.KiB, bench.MiB
SKIP = bench.SKIP
TMP_NAME = re.compile(r"\.streamput-tmp\.")
# The mock's settings for the soak: small chunks so multipart has many, a short expiry so
# abandoned sessions go within the settle phase, a small journal so it is full after the
# warm-up (it keeps that many entries by design: a growing journal is not a leak).
CHUNK = "1M"
EXPIRY_S = 6
JOURNAL = 64
# A settled mock: no temp file and the same fd count on consecutive looks this far apart.
SETTLE_POLL_S = 0.5
SETTLE_MAX_S = 60
# How often the mocks' RSS is sampled during the traffic (shown, to tell a plateau from a leak).
SAMPLE_S = 10
RSS_SLACK_KIB = 1024
# GnuTLS before 3.8.0 gives every thread that draws random bytes its own generator state and
# frees those only when the library is deinitialised, at exit (lib/random.c; upstream commit
# 5ba60f53a "gnutls_rnd manage memory per-thread" fixed it in 3.8.0). With the mock's thread per
# connection, every TLS connection leaves its thread's state behind: a struct generators_ctx_st
# of 176 bytes (a 192-byte malloc chunk) and a 16-byte list entry (32): 224 bytes, which
# test_hostile_tls measures at about 220 a handshake. The soak counts the HTTPS mock's
# connections (connections_accepted of /_mock/state) and takes exactly that off its growth; a
# leak of the mock's own beyond it still fails. What it cannot tell apart: a leak of the mock's
# own of up to 224 bytes on every TLS connection, which only a GnuTLS 3.8 would show.
GNUTLS_PER_THREAD = 224
GNUTLS_FIXED = b"3.8.0"
OP_TIMEOUT_S = 180
# Pool files: sizes spread from empty to 32 MiB; batches take the small ones.
POOL_SIZES = (0, 1, 1000, 4 * KiB, 64 * KiB + 3, 300 * KiB, MiB, MiB + 1, 3 * MiB - 7,
              5 * MiB, 8 * MiB + 100, 12 * MiB, 17 * MiB + 5, 24 * MiB, 32 * MiB)
BATCH_NAMES = ("a", "b", "c", "sub/d", "sub/e", "sub/deeper/f")
BATCH_MAX = 3 * MiB
NAMES_PER_WORKER = 6
# The weights of the operation kinds in a worker's loop.
KINDS = {"put": 5, "stdin": 2, "multipart": 3, "resume": 2, "abandon": 1, "batch": 2,
         "login": 2, "download": 4, "fail": 4}


# The expectation of a path whose last operation ended unexpectedly (already a failure): what it
# holds is not known, so later checks of that path are skipped rather than counted again.
UNKNOWN = object()


class SoakError(Exception):
    """A check failed: the soak's verdict."""


def sha256_file(path, offset=0, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left is None or left > 0:
            b = f.read(MiB if left is None else min(MiB, left))
            if not b:
                break
            h.update(b)
            if left is not None:
                left -= len(b)
    return h.hexdigest()


class Mock:
    """One streamput-mock of the soak, started once; its process figures are read from /proc."""

    def __init__(self, soak, name, tls):
        self.name, self.tls = name, tls
        self.root = os.path.join(soak.tmp, name)
        os.mkdir(self.root)
        self.log = os.path.join(soak.tmp, f"{name}.log")
        self.cacert = os.path.join(soak.tmp, f"{name}-cert.pem") if tls else None
        argv = [soak.tools["streamput-mock"], "--listen", "127.0.0.1:0", "--root", self.root,
                "--users-file", soak.users_file, "--allow-fault-header",
                "--multipart-chunk-size", CHUNK, "--multipart-expiry", str(EXPIRY_S),
                "--journal", str(JOURNAL)]
        if tls:
            argv += ["--tls-self-signed", "--tls-cert-out", self.cacert]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=log, env=soak.env,
                                         preexec_fn=bench.die_with_parent)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode(errors="replace") if ready else ""
        m = re.search(r"listening on (https?://127\.0\.0\.1:\d+/)", line)
        if not m:
            raise SoakError(f"{name} did not start: {line.strip()!r}; see {self.log}")
        self.base = m.group(1)
        self.put_url = self.base + "api/fs/put"
        self.ctx = ssl.create_default_context(cafile=self.cacert) if tls else None
        with open(f"/proc/{self.proc.pid}/maps") as f:
            maps = f.read()
        self.asan = "libasan" in maps
        self.gnutls, self.per_conn = gnutls_cost(maps) if tls else (None, 0)

    def connections(self):
        """How many connections the mock has accepted, this query's included."""
        try:
            with urllib.request.urlopen(self.base + "_mock/state", timeout=OP_TIMEOUT_S,
                                        context=self.ctx) as r:
                return int(json.load(r)["connections_accepted"])
        except (OSError, ValueError) as e:
            raise SoakError(f"{self.name}: GET /_mock/state failed: {e}") from e
        except KeyError as e:
            raise SoakError(f"{self.name}: /_mock/state has no connections_accepted: a mock "
                            f"older than the soak (rebuild it)") from e

    def status_kib(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise SoakError(f"{self.name}: no {field} in /proc/PID/status")

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def temp_files(self):
        return [os.path.join(d, n) for d, _, names in os.walk(self.root)
                for n in names if TMP_NAME.match(n)]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                return None
        return self.proc.returncode


def gnutls_cost(maps):
    """(version, bytes each TLS connection keeps) of the GnuTLS in a process's /proc/PID/maps."""
    m = re.search(r"(/\S*libgnutls\.so[.\d]*)$", maps, re.M)
    if not m:
        raise SoakError("the HTTPS mock has no libgnutls mapped")
    lib = ctypes.CDLL(m.group(1))
    lib.gnutls_check_version.restype = ctypes.c_char_p
    lib.gnutls_check_version.argtypes = [ctypes.c_char_p]
    version = lib.gnutls_check_version(None).decode()
    return version, 0 if lib.gnutls_check_version(GNUTLS_FIXED) else GNUTLS_PER_THREAD


class Tally:
    """What happened, by kind: counts, bytes, injected faults and their outcomes, failures."""

    def __init__(self):
        self.mu = threading.Lock()
        self.ops, self.bytes, self.faults = {}, {}, {}
        self.failures = []

    def op(self, kind, nbytes=0):
        with self.mu:
            self.ops[kind] = self.ops.get(kind, 0) + 1
            self.bytes[kind] = self.bytes.get(kind, 0) + nbytes

    def fault(self, fault, outcome):
        with self.mu:
            key = (fault, outcome)
            self.faults[key] = self.faults.get(key, 0) + 1

    def fail(self, msg):
        with self.mu:
            self.failures.append(msg)
        print(f"soak: FAILURE: {msg}", file=sys.stderr, flush=True)


class Soak:
    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.mocks = []
        self.tally = Tally()
        # (mock name, remote path) -> source file of its last successful upload (None: absent);
        # a path missing here was never touched.
        self.expect = {}
        self.exp_mu = threading.Lock()
        self.stopping = threading.Event()

    # ----- setup and teardown -------------------------------------------------------------

    def check_tools(self):
        self.tools = {n: os.path.join(self.args.bin, n) for n in ("streamput", "streamput-mock")}
        missing = [p for p in self.tools.values() if not os.access(p, os.X_OK)]
        if missing:
            raise bench.Missing("missing: " + ", ".join(missing) + " (build it: cmake --build)")

    def setup(self):
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else os.environ.get("TMPDIR", "/tmp")
        bench.remove_stale_dirs(base)
        self.tmp = os.path.join(base, f"{bench.TMP_PREFIX}{os.getpid()}.soak{os.urandom(3).hex()}")
        os.mkdir(self.tmp, 0o700)
        # Sanitizer reports go to files here, one per process, whatever the caller set: the
        # last log_path in the options wins, and the soak judges this directory.
        self.san_dir = os.path.join(self.tmp, "sanitizer")
        os.mkdir(self.san_dir)
        self.env = dict(os.environ)
        for var, name in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
            opts = self.env.get(var, "")
            self.env[var] = (opts + ":" if opts else "") + \
                f"log_path={os.path.join(self.san_dir, name)}"
        self.env.pop("STREAMPUT_TOKEN", None)
        self.env.pop("STREAMPUT_PASSWORD", None)
        self.passwords = {"admin": os.urandom(8).hex(), "alice": os.urandom(8).hex()}
        self.users_file = os.path.join(self.tmp, "users")
        self.pw_files = {}
        with open(os.open(self.users_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            for name, pw in self.passwords.items():
                f.write(f"{name}:{pw}\n")
                self.pw_files[name] = os.path.join(self.tmp, f"{name}.pw")
                with open(os.open(self.pw_files[name], os.O_WRONLY | os.O_CREAT, 0o600), "w") as p:
                    p.write(pw + "\n")
        pool = os.path.join(self.tmp, "pool")
        os.mkdir(pool)
        self.pool = []
        for i, size in enumerate(POOL_SIZES):
            path = os.path.join(pool, f"p{i:02d}")
            bench.write_source(path, size)
            self.pool.append((path, size))
        self.sha = {p: sha256_file(p) for p, _ in self.pool}
        self.mocks = [Mock(self, "plain", False), Mock(self, "tls", True)]
        self.token = {m.name: self.login(m, "admin") for m in self.mocks}

    def cleanup(self):
        for m in self.mocks:
            if m.alive():
                m.stop()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ----- running streamput --------------------------------------------------------------

    def cli(self, argv, mock, token=True, stdin=None, interrupt=None, quiet=True):
        """Runs streamput (argv after the program name, URL appended) against mock; with
        interrupt = (signal, seconds) sends that signal after that long. token: True for the
        admin's (through $STREAMPUT_TOKEN, never argv), a token of its own, or False for none.
        quiet=False shows the run's summary lines (--no-progress instead of -s).
        Returns (rc, stderr)."""
        env = dict(self.env)
        if token:
            env["STREAMPUT_TOKEN"] = self.token[mock.name] if token is True else token
        cmd = [self.tools["streamput"], "-s" if quiet else "--no-progress"] + \
            (["--cacert", mock.cacert] if mock.tls else []) + argv + [mock.put_url]
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
            p = subprocess.Popen(cmd, stdin=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=env)
            try:
                if interrupt:
                    try:
                        p.wait(timeout=interrupt[1])
                    except subprocess.TimeoutExpired:
                        p.send_signal(interrupt[0])
                out, err = p.communicate(timeout=OP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                return None, f"timed out after {OP_TIMEOUT_S} s: {' '.join(cmd)}"
        return p.returncode, err.decode(errors="replace").strip()

    def login(self, mock, user):
        env = dict(self.env)
        cmd = [self.tools["streamput"], "login"] + \
            (["--cacert", mock.cacert] if mock.tls else []) + \
            [mock.base, "-u", user, "--password-file", self.pw_files[user]]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=OP_TIMEOUT_S)
        tok = p.stdout.decode().strip()
        if p.returncode != 0 or not tok:
            raise SoakError(f"login as {user} to {mock.name}: exit {p.returncode}: "
                            f"{p.stderr.decode(errors='replace').strip()}")
        return tok

    # ----- expectations -------------------------------------------------------------------

    def stored(self, mock, path, src):
        with self.exp_mu:
            self.expect[(mock.name, path)] = src

    def expected(self, mock, path):
        with self.exp_mu:
            return self.expect.get((mock.name, path))

    def check_path(self, mock, path, what):
        """After a failed upload: the path holds what its last success stored, or nothing."""
        src = self.expected(mock, path)
        if src is UNKNOWN:
            return True
        disk = os.path.join(mock.root, path.lstrip("/"))
        if src is None:
            if os.path.lexists(disk):
                self.tally.fail(f"{what}: {mock.name}:{path} exists after a failed upload")
                self.stored(mock, path, UNKNOWN)
                return False
        elif not os.path.isfile(disk) or sha256_file(disk) != self.sha[src]:
            self.tally.fail(f"{what}: {mock.name}:{path} changed by a failed upload")
            self.stored(mock, path, UNKNOWN)
            return False
        return True

    def unexpected(self, what, mock, rc, err, path):
        self.tally.fail(f"{what} on {mock.name}: exit {rc}: {err[-500:]}")
        self.stored(mock, path, UNKNOWN)

    # ----- the operations: each returns nothing and records what it saw ---------------------

    def pick(self, rng, small=False, least=0):
        choices = [(p, s) for p, s in self.pool
                   if s >= least and (not small or s <= BATCH_MAX)]
        return rng.choice(choices)

    def name(self, w, rng):
        return f"/w{w}/f{rng.randrange(NAMES_PER_WORKER)}"

    def op_put(self, w, rng, mock):
        src, size = self.pick(rng)
        path = self.name(w, rng)
        argv = ["--multipart", "never", "-p", path]
        fault = rng.choice([None, None, None, "delay-response=300", "slow-read=16M",
                            "stall-after=64K:500"])
        if fault:
            argv += ["-H", f"X-Mock-Fault: {fault}"]
        if rng.random() < 0.3:
            argv += ["--hash", "sha256"]
        rc, err = self.cli(argv + [src], mock)
        if rc != 0:
            return self.unexpected(f"put {path}", mock, rc, err, path)
        self.stored(mock, path, src)
        self.tally.op("put", size)
        if fault:
            self.tally.fault(fault.split("=")[0], "stored")

    def op_stdin(self, w, rng, mock):
        src, size = self.pick(rng)
        path = self.name(w, rng)
        argv = ["--multipart", "never", "-p", path]
        if rng.random() < 0.5:
            argv += ["--size", str(size)]
        rc, err = self.cli(argv + ["-"], mock, stdin=src)
        if rc != 0:
            return self.unexpected(f"stdin {path}", mock, rc, err, path)
        self.stored(mock, path, src)
        self.tally.op("stdin", size)

    def op_multipart(self, w, rng, mock):
        src, size = self.pick(rng, least=1)
        path = self.name(w, rng)
        nchunks = max(1, (size + MiB - 1) // MiB)
        fault = rng.choice([None, f"chunk-fail={rng.randrange(nchunks)}:500",
                            f"chunk-reset={rng.randrange(nchunks)}:{rng.randrange(1, 512 * KiB)}",
                            "chunk-busy=2", "chunk-busy-ms=300"])
        argv = ["--multipart", "always", "--parallel-chunks", str(rng.randint(1, 4)),
                "--retry", "3", "--retry-delay", "100ms", "-p", path]
        if fault:
            argv += ["-H", f"X-Mock-Fault: {fault}"]
        rc, err = self.cli(argv + [src], mock)
        if rc != 0:
            if fault:
                self.tally.fault(fault.split("=")[0], f"exit {rc}")
            return self.unexpected(f"multipart {path} ({fault})", mock, rc, err, path)
        self.stored(mock, path, src)
        self.tally.op("multipart", size)
        if fault:
            self.tally.fault(fault.split("=")[0], "retried, stored")

    def interrupted_multipart(self, w, rng, mock, kind):
        """A multipart upload stopped part-way: by SIGINT while rate-limited (the session
        stays: exit 10), or for resume also by the mock dropping the session (exit 12)."""
        src, size = self.pick(rng, least=12 * MiB)
        path = self.name(w, rng)
        argv = ["--multipart", "always", "--parallel-chunks", "2", "-p", path]
        drop = kind == "resume" and rng.random() < 0.4
        if drop:
            first = argv + ["-H", f"X-Mock-Fault: drop-after={rng.randrange(1, 4)}"]
            rc, err = self.cli(first + [src], mock)
            want, how = 12, "drop-after"
        else:
            first = argv + ["--limit-rate", "2M"]
            # At 2 MiB/s a lane, the first chunks are in after about 1.5 s, and 12 MiB over two
            # lanes take 3 s.
            rc, err = self.cli(first + [src], mock, interrupt=(signal.SIGINT, rng.uniform(1, 2.2)))
            want, how = 10, "multipart-sigint"
        if rc == 0:  # done before the signal: a success like any other
            self.stored(mock, path, src)
            self.tally.op(kind, size)
            return self.tally.fault(how, "finished before the signal")
        if rc != want:
            self.tally.fault(how, f"exit {rc}")
            return self.unexpected(f"{kind} {path}: first run", mock, rc, err, path)
        if not self.check_path(mock, path, f"{kind} {path}"):
            return
        if kind == "abandon":
            self.tally.op("abandon", 0)
            self.tally.fault(how, "abandoned")
            return
        rc, err = self.cli(argv + [src], mock, quiet=False)
        if rc != 0:
            self.tally.fault(how, f"rerun exit {rc}")
            return self.unexpected(f"resume {path}", mock, rc, err, path)
        self.stored(mock, path, src)
        self.tally.op("resume", size)
        held = re.search(r"(\d+) already on the server", err)
        self.tally.fault(how, "rerun resumed, stored" if held and int(held.group(1)) > 0
                         else "rerun from chunk 0, stored")

    def op_resume(self, w, rng, mock):
        self.interrupted_multipart(w, rng, mock, "resume")

    def op_abandon(self, w, rng, mock):
        self.interrupted_multipart(w, rng, mock, "abandon")

    def op_batch(self, w, rng, mock):
        tree = os.path.join(self.tmp, f"tree{w}")
        shutil.rmtree(tree, ignore_errors=True)
        files = {}
        for rel in BATCH_NAMES:
            src, size = self.pick(rng, small=True)
            os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
            os.link(src, os.path.join(tree, rel))
            files[rel] = (src, size)
        rdir = f"/w{w}/b{rng.randrange(2)}"
        argv = ["-r", "--parallel", "4", "--multipart", rng.choice(["never", "always"]),
                "--remote-dir", rdir, tree + "/"]
        rc, err = self.cli(argv, mock)
        if rc != 0:
            self.tally.fail(f"batch {rdir} on {mock.name}: exit {rc}: {err[-500:]}")
            for rel in files:
                self.stored(mock, f"{rdir}/{rel}", UNKNOWN)
            return
        for rel, (src, _) in files.items():
            self.stored(mock, f"{rdir}/{rel}", src)
        self.tally.op("batch", sum(s for _, s in files.values()))

    def op_login(self, w, rng, mock):
        src, size = self.pick(rng, small=True)
        path = self.name(w, rng)
        user = rng.choice(["admin", "alice"])
        argv = ["--multipart", "never", "-p", path]
        if rng.random() < 0.5:
            rc, err = self.cli(argv + [src], mock, token=self.login(mock, user))
        else:
            rc, err = self.cli(argv + ["-u", user, "--password-file", self.pw_files[user], src],
                               mock, token=False)
        if rc != 0:
            return self.unexpected(f"login+put {path} as {user}", mock, rc, err, path)
        self.stored(mock, path, src)
        self.tally.op("login", size)

    def http(self, mock, url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, headers=headers or {})
        return urllib.request.urlopen(req, timeout=OP_TIMEOUT_S, context=mock.ctx)

    def op_download(self, w, rng, mock):
        with self.exp_mu:
            mine = [(p, s) for (m, p), s in self.expect.items()
                    if m == mock.name and s not in (None, UNKNOWN) and p.startswith(f"/w{w}/")]
        if not mine:
            return self.op_put(w, rng, mock)
        path, src = rng.choice(mine)
        size = os.path.getsize(src)
        body = json.dumps({"path": path}).encode()
        with self.http(mock, mock.base + "api/fs/get", body,
                       {"Authorization": self.token[mock.name],
                        "Content-Type": "application/json"}) as r:
            got = json.load(r)
        if got.get("code") != 200:
            return self.tally.fail(f"fs/get {mock.name}:{path}: {got}")
        url = f"{mock.base}d{path}?sign={urllib.parse.quote(got['data']['sign'])}"
        headers, offset, length = {}, 0, size
        if size > 0 and rng.random() < 0.5:
            offset = rng.randrange(size)
            length = rng.randint(1, size - offset)
            headers["Range"] = f"bytes={offset}-{offset + length - 1}"
        h = hashlib.sha256()
        n = 0
        with self.http(mock, url, headers=headers) as r:
            status = r.status
            while True:
                b = r.read(MiB)
                if not b:
                    break
                h.update(b)
                n += len(b)
        want_status = 206 if headers else 200
        if status != want_status or n != length or \
                h.hexdigest() != (self.sha[src] if not headers else
                                  sha256_file(src, offset, length)):
            return self.tally.fail(f"download {mock.name}:{path} {headers}: status {status}, "
                                   f"{n} of {length} bytes, content differs or short")
        self.tally.op("download", n)

    def op_fail(self, w, rng, mock):
        """An upload that must store nothing: the mock fails it, or the client dies mid-body."""
        src, size = self.pick(rng, least=8 * MiB)
        path = self.name(w, rng)
        how = rng.choice(["reset-after", "code=500", "status=503", "put-sigkill", "put-sigint"])
        argv = ["--multipart", "never", "-p", path]
        interrupt = None
        if how == "reset-after":
            argv += ["-H", f"X-Mock-Fault: reset-after={rng.randrange(size)}"]
            want = (9,)
        elif how == "code=500":
            argv += ["-H", "X-Mock-Fault: code=500"]
            want = (7,)
        elif how == "status=503":
            argv += ["-H", "X-Mock-Fault: status=503", "--retry", "2", "--retry-delay", "100ms"]
            want = (6,)
        else:
            # 2 MiB/s against at least 8 MiB: the body is a quarter sent at most when it stops.
            argv += ["--limit-rate", "2M"]
            sig = signal.SIGKILL if how == "put-sigkill" else signal.SIGINT
            interrupt = (sig, rng.uniform(0.3, 1.0))
            want = (-signal.SIGKILL,) if sig == signal.SIGKILL else (10,)
        rc, err = self.cli(argv + [src], mock, interrupt=interrupt)
        if rc == 0 and interrupt:
            self.stored(mock, path, src)
            return self.tally.fault(how, "finished before the signal")
        self.tally.fault(how.split("=")[0] if how.startswith("reset") else how,
                         "nothing stored" if rc in want else f"exit {rc}")
        if rc not in want:
            return self.unexpected(f"fail {how} {path}", mock, rc, err, path)
        if self.check_path(mock, path, f"fail {how}"):
            self.tally.op("fail", 0)

    # ----- the loop -----------------------------------------------------------------------

    def one(self, kind, w, rng, mock):
        try:
            getattr(self, "op_" + kind)(w, rng, mock)
        except Exception as e:  # one broken operation is a finding, not the end of the soak
            self.tally.fail(f"{kind} on {mock.name}: {type(e).__name__}: {e}\n"
                            + traceback.format_exc(limit=3))

    def worker(self, w, rng, until, every_kind=False):
        """Runs operations until the clock reaches until; with every_kind, first each kind once
        on each mock (in random order)."""
        kinds, weights = list(KINDS), list(KINDS.values())
        if every_kind:
            todo = [(k, m) for k in kinds for m in self.mocks]
            rng.shuffle(todo)
            for k, m in todo:
                self.one(k, w, rng, m)
        while time.monotonic() < until and not self.stopping.is_set():
            for m in self.mocks:
                if not m.alive():
                    self.tally.fail(f"{m.name} died: exit {m.proc.returncode}")
                    self.stopping.set()
                    return
            self.one(rng.choices(kinds, weights)[0], w, rng, rng.choice(self.mocks))

    def phase(self, rngs, seconds, every_kind=False, sample=None):
        """All workers for seconds (each finishes its operation in progress); sample: a dict
        that gets each mock's VmRSS every SAMPLE_S meanwhile. Returns the seconds it took."""
        t0 = time.monotonic()
        threads = [threading.Thread(target=self.worker, daemon=True,
                                    args=(w, rng, t0 + seconds, every_kind))
                   for w, rng in rngs.items()]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            if time.monotonic() - t0 > seconds + 2 * OP_TIMEOUT_S:
                self.tally.fail("a worker did not finish its last operation")
                self.stopping.set()
                break
            for m in self.mocks:
                if sample is not None and m.alive():
                    sample.setdefault(m.name, []).append(m.status_kib("VmRSS"))
            self.stopping.wait(SAMPLE_S if sample is not None else 0.5)
        return time.monotonic() - t0

    def settle(self, mock, want_fds=None):
        """Waits out multipart expiry and its sweep, then until the mock holds no temp file and
        its fd count stays put (at want_fds, if given). Returns the seconds waited."""
        t0 = time.monotonic()
        time.sleep(EXPIRY_S + 1.5)
        last = None
        while time.monotonic() - t0 < SETTLE_MAX_S:
            fds = mock.fds()
            if not mock.temp_files() and fds == last and (want_fds is None or fds == want_fds):
                break
            last = fds
            time.sleep(SETTLE_POLL_S)
        return time.monotonic() - t0

    def files_check(self, mock):
        """The root holds exactly the recorded files, each with its source's SHA-256."""
        bad = []
        want = {p: s for (m, p), s in self.expect.items() if m == mock.name and s is not None}
        unknown = {p for p, s in want.items() if s is UNKNOWN}
        seen = set()
        for d, _, names in os.walk(mock.root):
            for n in names:
                full = os.path.join(d, n)
                rel = "/" + os.path.relpath(full, mock.root)
                if TMP_NAME.match(n):
                    continue  # counted by temp_files
                seen.add(rel)
                if rel in unknown:
                    continue
                if rel not in want:
                    bad.append(f"{rel}: stored, but no upload of it succeeded")
                elif sha256_file(full) != self.sha[want[rel]]:
                    bad.append(f"{rel}: differs from its source")
        bad += [f"{p}: missing" for p in want if p not in seen and p not in unknown]
        return len(want) - len(unknown), bad

    def run(self):
        a = self.args
        rngs = {w: random.Random(a.seed * 1000 + w) for w in range(1, a.workers + 1)}
        # The start level: after the same traffic at the same concurrency for a while, every
        # kind on each mock at least once per worker, then settled as at the end.
        t0 = time.monotonic()
        self.phase(rngs, a.warm_up, every_kind=True)
        if self.tally.failures:
            raise SoakError(f"the warm-up failed ({len(self.tally.failures)} failures)")
        warm_ops = sum(self.tally.ops.values())
        self.tally = Tally()
        start = {}
        for m in self.mocks:
            self.settle(m)
            start[m.name] = {"rss": m.status_kib("VmRSS"), "fds": m.fds(),
                             "conns": m.connections()}
        warm = time.monotonic() - t0
        samples = {}
        traffic = self.phase(rngs, a.duration, sample=samples)
        for m in self.mocks:
            if not m.alive():
                raise SoakError(f"{m.name} died during the traffic: exit {m.proc.returncode}; "
                                f"see {m.log}")
        res = {"warm_s": warm, "warm_ops": warm_ops, "traffic_s": traffic, "mocks": {}}
        for m in self.mocks:
            r = res["mocks"][m.name] = dict(start[m.name])
            r["settle_s"] = self.settle(m, want_fds=start[m.name]["fds"])
            r["rss_end"], r["fds_end"] = m.status_kib("VmRSS"), m.fds()
            r["conns_end"] = m.connections()
            r["gnutls"], r["per_conn"] = m.gnutls, m.per_conn
            # Each level is read just before its state query, so the count leaves out the start
            # query's connection, which the growth holds, and takes in the end one's, which it
            # does not: one for one.
            r["known_kib"] = (r["conns_end"] - r["conns"]) * m.per_conn // 1024
            r["net"] = r["rss_end"] - r["rss"] - r["known_kib"]
            r["hwm"] = m.status_kib("VmHWM")
            r["temp"] = m.temp_files()
            r["files"], r["bad"] = self.files_check(m)
            r["asan"] = m.asan
            r["samples"] = samples.get(m.name, [])
        for m in self.mocks:
            res["mocks"][m.name]["exit"] = m.stop()
        res["sanitizer"] = self.sanitizer_reports()
        return res

    def sanitizer_reports(self):
        """{file name: text} of every report a sanitizer wrote in this soak."""
        reports = {}
        for n in sorted(os.listdir(self.san_dir)):
            with open(os.path.join(self.san_dir, n), errors="replace") as f:
                reports[n] = f.read()
        return reports


def report(soak, res, args):
    t = soak.tally
    out = []
    p = out.append
    p(f"## Soak: {res['traffic_s']:.0f} s of traffic, {args.workers} workers, seed {args.seed}\n")
    p(f"Warm-up before it (not counted below): {res['warm_ops']} operations, "
      f"{res['warm_s']:.0f} s with its settle. Binaries: {args.bin}.\n")
    p("| kind | operations | bytes |")
    p("|---|---|---|")
    for k in KINDS:
        p(f"| {k} | {t.ops.get(k, 0)} | {t.bytes.get(k, 0) / MiB:.1f} MiB |")
    p(f"| all | {sum(t.ops.values())} | {sum(t.bytes.values()) / MiB:.1f} MiB |\n")
    p("| fault injected | outcome | count |")
    p("|---|---|---|")
    for (f, o), n in sorted(t.faults.items()):
        p(f"| {f} | {o} | {n} |")
    p("")
    p("| mock | files checked | temp left | RSS start → end (KiB) | connections | GnuTLS's "
      "(KiB) | RSS growth less GnuTLS's | peak RSS | fds start → end | settle | exit on SIGTERM |")
    p("|---|---|---|---|---|---|---|---|---|---|---|")
    ok = not t.failures
    for name, r in res["mocks"].items():
        rss_ok = r["asan"] or abs(r["net"]) <= RSS_SLACK_KIB
        judged = "" if not r["asan"] else " (ASan: not judged)"
        known = "—" if r["gnutls"] is None else \
            f"{r['known_kib']} ({r['gnutls']}, {r['per_conn']} B each)"
        p(f"| {name} | {r['files']} ({len(r['bad'])} bad) | {len(r['temp'])} | "
          f"{r['rss']} → {r['rss_end']} ({r['rss_end'] - r['rss']:+d}) | "
          f"{r['conns_end'] - r['conns']} | {known} | {r['net']:+d}{judged} | {r['hwm']} | "
          f"{r['fds']} → {r['fds_end']} | {r['settle_s']:.1f} s | {r['exit']} |")
        ok = ok and rss_ok and r["fds_end"] == r["fds"] and not r["temp"] and not r["bad"] \
            and r["exit"] == 0
    p("")
    for name, r in res["mocks"].items():
        p(f"{name} VmRSS during the traffic, KiB every {SAMPLE_S} s: "
          + " ".join(str(x) for x in r["samples"]) + "\n")
    problems = []
    for name, r in res["mocks"].items():
        problems += [f"{name}: {b}" for b in r["bad"][:20]]
        problems += [f"{name}: temp file left: {x}" for x in r["temp"][:20]]
        if not r["asan"] and abs(r["net"]) > RSS_SLACK_KIB:
            problems.append(f"{name}: RSS moved {r['net']:+d} KiB beyond GnuTLS's known "
                            f"{r['known_kib']} KiB (limit ±1024)")
        if r["fds_end"] != r["fds"]:
            problems.append(f"{name}: fds {r['fds']} → {r['fds_end']}")
        if r["exit"] != 0:
            problems.append(f"{name}: exit status {r['exit']} on SIGTERM")
    for n, text in res["sanitizer"].items():
        problems.append(f"sanitizer report {n}:\n{text[:4000]}")
        ok = False
    problems += [f"operation: {f}" for f in t.failures[:30]]
    if problems:
        p(f"### Problems ({len(problems)})\n")
        p("\n".join(f"- {x}" for x in problems))
        p("")
    p(f"Verdict: {'PASS' if ok else 'FAIL'}")
    print("\n".join(out), flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    ap.add_argument("--warm-up", type=float, default=30,
                    help="seconds of traffic before the start level is taken (default 30)")
    ap.add_argument("--workers", type=int, default=4, help="concurrent workers (default 4)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: drawn, shown)")
    ap.add_argument("--bin", default=os.path.join(bench.REPO, "build", "bin"),
                    help="directory with streamput and streamput-mock (default: build/bin)")
    args = ap.parse_args()
    if not 1 <= args.duration <= 86400 or not 1 <= args.workers <= 16:
        ap.error("--duration must be 1..86400 and --workers 1..16")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(128 + s))
    soak = Soak(args)
    try:
        soak.check_tools()
    except bench.Missing as e:
        print(f"soak: {e}", file=sys.stderr)
        return SKIP
    try:
        soak.setup()
        res = soak.run()
        return 0 if report(soak, res, args) else 1
    except SoakError as e:
        print(f"soak: FAILED: {e}", file=sys.stderr)
        for f in soak.tally.failures:
            print(f"  {f}", file=sys.stderr)
        if soak.tmp:
            for m in soak.mocks:
                if not m.alive():
                    with open(m.log, errors="replace") as f:
                        print(f"---- the end of {m.name}'s log:\n{f.read()[-4000:]}",
                              file=sys.stderr)
            for n, text in soak.sanitizer_reports().items():
                print(f"---- sanitizer report {n}:\n{text[:8000]}", file=sys.stderr)
        return 1
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main())
