"""A streamput-mock process: finding the binary, starting it on a free port, its journal, stopping it.

Nothing here imports pytest, so a script or another test runner can use Mock on its own; the
fixtures in pytest_streamput are a thin layer over it.
"""

import atexit
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["MockError", "MockNotFoundError", "Mock", "find_mock"]

ENV_VAR = "STREAMPUT_MOCK"
BINARY = "streamput-mock"

# How to get a binary, appended to every "not found" message so the reader knows the next step.
HOW_TO_FIX = (
    f"install the streamput-mock package (or build streamput: its build/bin/{BINARY}), then put "
    f"it on PATH, set {ENV_VAR}=/path/to/{BINARY}, or pass --streamput-mock=PATH to pytest"
)

# The first stdout line of a started mock; the URL in it carries the port the kernel chose.
_LISTENING = re.compile(r"^streamput-mock listening on (https?)://([^/\s]+):(\d+)/\s*$")


class MockError(Exception):
    """The mock could not be started, answered badly or exited badly; the message says why."""


class MockNotFoundError(MockError):
    """No streamput-mock binary where it was looked for; the message says how to provide one."""


def _usable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_mock(explicit=None, env=None):
    """The path of the streamput-mock to run, or MockNotFoundError.

    Looked for in this order, the first that is set deciding: explicit (an argument or pytest's
    --streamput-mock), then $STREAMPUT_MOCK, then streamput-mock on PATH. A path that is set but
    unusable is an error rather than a reason to look further, so a typo never silently runs some
    other build found on PATH.
    """
    env = os.environ if env is None else env
    for origin, path in (("--streamput-mock", explicit), (ENV_VAR, env.get(ENV_VAR))):
        if not path:
            continue
        if os.path.isdir(path):
            raise MockNotFoundError(f"{origin}={path} is a directory, not the {BINARY} binary; "
                                    f"{HOW_TO_FIX}")
        if not os.path.exists(path):
            raise MockNotFoundError(f"{origin}={path}: no such file; {HOW_TO_FIX}")
        if not _usable(path):
            raise MockNotFoundError(f"{origin}={path} is not executable; {HOW_TO_FIX}")
        return os.path.abspath(path)
    found = shutil.which(BINARY, path=env.get("PATH", os.defpath))
    if found is None:
        raise MockNotFoundError(f"{BINARY} not found: {ENV_VAR} is not set and there is no "
                                f"{BINARY} on PATH; {HOW_TO_FIX}")
    return found


def _tail(path, limit=2000):
    """The last limit characters of a log file, for error messages; "" if it cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _die_with_parent():
    """A preexec_fn that has Linux send the mock SIGTERM when the thread that started it ends.

    This is what keeps a mock from outliving a test run that is killed (SIGKILL, a CI timeout),
    where no teardown or atexit handler runs. prctl is looked up here, before the fork, so that
    the child between fork and exec only makes the call and never runs the dynamic loader.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def child():
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died between fork and prctl; then nobody is left to stop the mock.
        if os.getppid() != parent:
            os._exit(1)

    return child


# Every mock started and not yet stopped, so that the end of a session (or of the interpreter)
# stops the ones a fixture's teardown never reached.
_live = set()
_live_lock = threading.Lock()


def stop_all():
    """Stops every mock of this process that is still running."""
    with _live_lock:
        mocks = list(_live)
    for m in mocks:
        m.stop()


# For a Mock used without pytest; under pytest, pytest_unconfigure gets there first.
atexit.register(stop_all)


class Mock:
    """A running streamput-mock on 127.0.0.1 (port 0), storing beneath root.

    url is the base URL without a trailing slash ("http://127.0.0.1:PORT"), root the directory
    that receives uploads, pid the process id, stderr_path the file that collects its access log.
    """

    def __init__(self, root, workdir, binary=None, token=None, profile=None, args=(),
                 startup_timeout=10.0, stop_timeout=10.0, name="mock"):
        self.binary = find_mock(binary)
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = workdir / f"{name}.stdout"
        self.stderr_path = workdir / f"{name}.stderr"
        self.stop_timeout = stop_timeout
        self.returncode = None
        self.url = None
        # A test token on the command line: the mock overwrites it in its argv once started.
        argv = [self.binary, "--listen", "127.0.0.1:0", "--root", str(self.root)]
        if token is not None:
            argv += ["--token", token]
        if profile is not None:
            argv += ["--profile", profile]
        argv += [str(a) for a in args]
        # What error messages show: the command line without the token.
        self.argv = ["***" if token is not None and a == token else a for a in argv]
        # stdout and stderr go to files, not pipes: a pipe nobody reads would fill up and stall
        # the mock's access log, and the files are still there to read after it exits.
        try:
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                                stderr=err, preexec_fn=_die_with_parent(),
                                                close_fds=True)
        except OSError as e:
            raise MockError(f"cannot run {self.binary}: {e}; {HOW_TO_FIX}") from e
        self.pid = self.process.pid
        with _live_lock:
            _live.add(self)
        try:
            self._await_url(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _await_url(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            line = self.stdout_path.read_bytes().split(b"\n", 1)
            if len(line) == 2:
                text = line[0].decode("utf-8", "replace")
                m = _LISTENING.match(text)
                if m is None:
                    raise MockError(f"{self.binary} started but its first line is not "
                                    f"'streamput-mock listening on URL': {text!r}"
                                    f"{self._log_tail()}")
                self.scheme, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
                self.url = f"{self.scheme}://{self.host}:{self.port}"
                return
            code = self.process.poll()
            if code is not None:
                raise MockError(f"{self.binary} exited with {_status(code)} before listening "
                                f"(argv {self.argv}){self._log_tail()}")
            if time.monotonic() >= deadline:
                raise MockError(f"{self.binary} printed no URL within {timeout:g} s "
                                f"(argv {self.argv}){self._log_tail()}")
            time.sleep(0.01)

    def _log_tail(self):
        tail = _tail(self.stderr_path)
        return f"\n--- last of its stderr ({self.stderr_path}):\n{tail}" if tail else ""

    def log(self):
        """Everything the mock wrote to stderr so far (its access log and warnings)."""
        return self.stderr_path.read_text("utf-8", "replace")

    # ---- the journal ----

    def _call(self, method, path, timeout):
        req = urllib.request.Request(self.url + path, method=method)
        # The mock is our own child on loopback; with --tls-self-signed its certificate is new
        # at each start, so there is nothing to verify it against.
        ctx = ssl._create_unverified_context() if self.scheme == "https" else None
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
                return r.status, r.read()
        except (urllib.error.URLError, OSError) as e:
            raise MockError(f"{method} {self.url}{path}: {e}{self._log_tail()}") from e

    def requests(self, timeout=10.0):
        """The journal (GET /_mock/requests): a list of dicts, in the order the mock finished
        with the requests.

        An entry is added when the mock has finished with a request, which can be just after
        the client has read the answer: use wait_for() to wait for one.
        """
        status, body = self._call("GET", "/_mock/requests", timeout)
        try:
            entries = json.loads(body)
        except ValueError as e:
            raise MockError(f"GET /_mock/requests: not JSON ({e}): {body[:200]!r}") from e
        if status != 200 or not isinstance(entries, list):
            raise MockError(f"GET /_mock/requests: HTTP {status}: {body[:200]!r}")
        return entries

    def clear(self, timeout=10.0):
        """Empties the journal (DELETE /_mock/requests). Connection numbers keep counting."""
        status, body = self._call("DELETE", "/_mock/requests", timeout)
        try:
            ok = status == 200 and json.loads(body).get("code") == 200
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise MockError(f"DELETE /_mock/requests: HTTP {status}: {body[:200]!r}")

    def wait_for(self, file_path=None, match=None, timeout=5.0):
        """The newest journal entry with this file_path (and for which match(entry) is true),
        waiting up to timeout seconds for it to appear; MockError if it does not."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.requests()
                     if (file_path is None or e.get("file_path") == file_path)
                     and (match is None or match(e))]
            if found:
                return found[-1]
            if time.monotonic() >= deadline:
                raise MockError(f"no journal entry for file_path={file_path!r} within "
                                f"{timeout:g} s{self._log_tail()}")
            time.sleep(0.02)

    # ---- stopping ----

    @property
    def running(self):
        return self.process.poll() is None

    def stop(self):
        """Stops the mock (SIGTERM, then SIGKILL after stop_timeout) and returns its exit status
        (negative: the signal that ended it). Stopping a stopped mock returns the same status."""
        if self.returncode is None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.returncode = self.process.returncode
        with _live_lock:
            _live.discard(self)
        return self.returncode

    def check_stopped(self):
        """Stops the mock and raises MockError unless it exited with status 0, as it does on
        SIGTERM; a crash, a sanitizer report or a SIGKILL after a hang is an error."""
        code = self.stop()
        if code != 0:
            raise MockError(f"{self.binary} ({self.url}) ended with {_status(code)}"
                            f"{self._log_tail()}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<Mock {self.url} root={self.root} pid={self.pid}>"


def _status(code):
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"
