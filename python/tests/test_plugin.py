"""The fixtures themselves: a started mock, its journal, options, errors and that it always ends."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

import pytest_streamput
from pytest_streamput import Mock, MockError, MockNotFoundError, find_mock

# The directory the plugin is imported from, for the pytest runs started below.
SRC = str(Path(pytest_streamput.__file__).resolve().parent.parent)


def put(mock, file_path, data, token=None):
    """PUT data to mock's /api/fs/put as file_path; returns AList's JSON answer."""
    headers = {"File-Path": file_path}
    if token is not None:
        headers["Authorization"] = token
    req = urllib.request.Request(mock.url + "/api/fs/put", data=data, method="PUT",
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        return json.loads(r.read())


def gone(pid):
    """True once pid is no process, or a zombie nobody has reaped yet (it runs no more)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pid, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def run_pytest(tmp_path, body, env=None, wait=True):
    """Runs pytest with this plugin on a test file holding body, in a process of its own."""
    test = tmp_path / "test_inner.py"
    test.write_text(textwrap.dedent(body))
    full_env = dict(os.environ if env is None else env)
    full_env["PYTHONPATH"] = SRC
    # The inner run has a directory of its own: a relative STREAMPUT_MOCK would not hold there.
    if full_env.get("STREAMPUT_MOCK"):
        full_env["STREAMPUT_MOCK"] = os.path.abspath(full_env["STREAMPUT_MOCK"])
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "pytest_streamput", "-p",
            "no:cacheprovider", "--basetemp", str(tmp_path / "inner"), str(test)]
    if not wait:
        return subprocess.Popen(argv, env=full_env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    return subprocess.run(argv, env=full_env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


# ---- the fixture ----


def test_fixture_gives_a_url_and_an_empty_root_that_receives_uploads(streamput_mock):
    assert re.fullmatch(r"http://127\.0\.0\.1:[1-9][0-9]*", streamput_mock.url)
    assert streamput_mock.url.endswith(f":{streamput_mock.port}")
    assert streamput_mock.root.is_dir() and list(streamput_mock.root.iterdir()) == []
    assert streamput_mock.running

    answer = put(streamput_mock, "/dir/a.txt", b"hello")
    assert answer["code"] == 200, answer
    assert (streamput_mock.root / "dir" / "a.txt").read_bytes() == b"hello"


def test_requests_lists_each_upload(streamput_mock):
    put(streamput_mock, "/one.bin", b"1" * 10)
    put(streamput_mock, "/two.bin", b"2" * 2000)
    streamput_mock.wait_for("/one.bin")
    streamput_mock.wait_for("/two.bin")
    # In the order the mock finished them: the first connection's end can come after the
    # second's answer, so the two may be either way round.
    entries = sorted(streamput_mock.requests(), key=lambda e: e["file_path"])
    assert [e["file_path"] for e in entries] == ["/one.bin", "/two.bin"]
    for e, size in zip(entries, (10, 2000)):
        assert e["method"] == "PUT" and e["path"] == "/api/fs/put"
        assert e["content_length"] == size and e["bytes_received"] == size
        assert e["stored"] is True and e["code"] == 200
        assert e["multipart_suspected"] is False


def test_clear_empties_the_journal(streamput_mock):
    put(streamput_mock, "/before.txt", b"x")
    streamput_mock.wait_for("/before.txt")
    streamput_mock.clear()
    assert streamput_mock.requests() == []
    put(streamput_mock, "/after.txt", b"y")
    assert streamput_mock.wait_for("/after.txt")["file_path"] == "/after.txt"
    assert [e["file_path"] for e in streamput_mock.requests()] == ["/after.txt"]


def test_wait_for_fails_clearly_when_no_entry_comes(streamput_mock):
    with pytest.raises(MockError, match=r"no journal entry for file_path='/never' within 0.2 s"):
        streamput_mock.wait_for("/never", timeout=0.2)


# ---- the factory ----


def test_factory_with_a_token_refuses_requests_without_it(streamput_mock_factory):
    m = streamput_mock_factory(token="t0ken-for-tests")
    assert "t0ken-for-tests" not in " ".join(m.argv)

    refused = put(m, "/secret.txt", b"no")
    assert refused["code"] == 401, refused
    assert not (m.root / "secret.txt").exists()

    assert put(m, "/secret.txt", b"yes", token="t0ken-for-tests")["code"] == 200
    assert (m.root / "secret.txt").read_bytes() == b"yes"
    m.wait_for("/secret.txt", match=lambda e: e["code"] == 200)
    assert sorted(e["code"] for e in m.requests()) == [200, 401]


def test_factory_mocks_are_separate_and_take_options(streamput_mock_factory):
    a = streamput_mock_factory()
    b = streamput_mock_factory(profile="alist", args=["--journal", "1"])
    assert a.port != b.port and a.root != b.root
    put(b, "/1", b"1")
    b.wait_for("/1")
    put(b, "/2", b"2")
    b.wait_for("/2")
    # --journal 1 keeps only the newest entry; a saw nothing.
    assert [e["file_path"] for e in b.requests()] == ["/2"]
    assert a.requests() == []


def test_factory_serves_https_with_a_self_signed_certificate(streamput_mock_factory):
    m = streamput_mock_factory(args=["--tls-self-signed"])
    assert m.url.startswith("https://127.0.0.1:")
    assert m.requests() == []


def test_factory_reports_a_mock_that_exits_at_start(streamput_mock_factory):
    with pytest.raises(pytest.fail.Exception) as e:
        streamput_mock_factory(args=["--no-such-option"])
    assert "exited with exit status 2 before listening" in str(e.value)
    # The mock's own complaint, from its stderr, is part of the message.
    assert "no-such-option" in str(e.value).split("last of its stderr", 1)[1]


def test_startup_timeout_names_the_wait_and_kills_the_process(tmp_path):
    pid_file = tmp_path / "silent.pid"
    silent = tmp_path / "silent-mock"
    silent.write_text(f"#!/bin/sh\necho $$ > {pid_file}\necho 'starting up...' >&2\n"
                      "exec sleep 60\n")
    silent.chmod(0o755)
    t0 = time.monotonic()
    # 2 s: time enough for the script to write its pid and line even on a loaded machine.
    with pytest.raises(MockError, match=r"printed no URL within 2 s") as e:
        Mock(tmp_path / "root", tmp_path / "work", binary=str(silent), startup_timeout=2)
    assert time.monotonic() - t0 < 15
    assert "starting up..." in str(e.value)
    assert gone(int(pid_file.read_text()))


# ---- finding the binary ----


def test_missing_binary_names_both_ways_to_provide_one(tmp_path):
    with pytest.raises(MockNotFoundError) as e:
        find_mock(env={"PATH": str(tmp_path)})
    msg = str(e.value)
    assert "streamput-mock not found" in msg
    assert "install the streamput-mock package" in msg and "STREAMPUT_MOCK=" in msg


def test_a_bad_explicit_or_env_path_is_an_error_not_a_fallback(tmp_path):
    # A working streamput-mock on PATH must not stand in for the one that was asked for.
    real = find_mock()
    env = {"PATH": str(Path(real).parent)}
    with pytest.raises(MockNotFoundError, match=r"STREAMPUT_MOCK=/nonexistent/mock: no such file"):
        find_mock(env={**env, "STREAMPUT_MOCK": "/nonexistent/mock"})
    with pytest.raises(MockNotFoundError, match=r"--streamput-mock=/nonexistent/x: no such file"):
        find_mock("/nonexistent/x", env=env)
    plain = tmp_path / "streamput-mock"
    plain.write_text("not a program")
    with pytest.raises(MockNotFoundError, match=r"is not executable"):
        find_mock(env={**env, "STREAMPUT_MOCK": str(plain)})
    with pytest.raises(MockNotFoundError, match=r"is a directory"):
        find_mock(str(tmp_path), env=env)
    # Executable but no program: found, and then running it says why it cannot run.
    plain.chmod(0o755)
    with pytest.raises(MockError, match=r"cannot run .*Exec format error"):
        Mock(tmp_path / "root", tmp_path / "work", binary=str(plain))
    # The order: the explicit path, then the variable, then PATH.
    assert find_mock(real, env={"STREAMPUT_MOCK": "/nonexistent/mock"}) == real
    assert find_mock(env={"STREAMPUT_MOCK": real, "PATH": str(tmp_path)}) == real
    assert find_mock(env=env) == real


def test_fixture_without_a_binary_fails_with_the_fix_in_the_message(tmp_path):
    # PATH an empty directory: a streamput-mock installed on this machine must not be found.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "STREAMPUT_MOCK"}
    env["PATH"] = str(empty)
    r = run_pytest(tmp_path, """
        def test_needs_mock(streamput_mock):
            pass
        """, env=env)
    assert r.returncode != 0, r.stdout
    assert "1 error" in r.stdout, r.stdout
    assert "streamput-mock not found" in r.stdout
    assert "install the streamput-mock package" in r.stdout and "STREAMPUT_MOCK=" in r.stdout


# ---- the mock always ends ----


def test_stop_ends_the_process_and_returns_its_status(tmp_path):
    with Mock(tmp_path / "root", tmp_path / "work") as m:
        pid = m.pid
        assert not gone(pid)
    assert m.returncode == 0 and gone(pid)
    assert m.stop() == 0  # a second stop changes nothing


def test_teardown_stops_every_mock_the_test_started(tmp_path):
    pids = tmp_path / "pids"
    r = run_pytest(tmp_path, f"""
        def test_two(streamput_mock, streamput_mock_factory):
            other = streamput_mock_factory()
            with open({str(pids)!r}, "w") as f:
                f.write(f"{{streamput_mock.pid}} {{other.pid}}")
        """)
    assert r.returncode == 0, r.stdout + r.stderr
    for pid in map(int, pids.read_text().split()):
        assert gone(pid), f"mock {pid} outlived the test"


def test_teardown_fails_a_test_whose_mock_died(tmp_path):
    r = run_pytest(tmp_path, """
        import os, signal
        def test_kill(streamput_mock):
            os.kill(streamput_mock.pid, signal.SIGKILL)
            streamput_mock.process.wait()
        """)
    assert r.returncode != 0
    assert "1 passed, 1 error" in r.stdout, r.stdout
    assert "ended with signal SIGKILL" in r.stdout


def test_a_killed_test_run_takes_its_mock_with_it(tmp_path):
    # SIGKILL leaves pytest no teardown and no atexit: only the kernel can end the mock then.
    pid_file = tmp_path / "pid"
    p = run_pytest(tmp_path, f"""
        import time
        def test_hang(streamput_mock):
            with open({str(pid_file)!r} + ".tmp", "w") as f:
                f.write(str(streamput_mock.pid))
            import os
            os.rename({str(pid_file)!r} + ".tmp", {str(pid_file)!r})
            time.sleep(60)
        """, wait=False)
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pid_file.exists(), "the inner test never started its mock"
        pid = int(pid_file.read_text())
        assert not gone(pid)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        out = p.communicate()[0]
    assert p.returncode == -signal.SIGKILL, out
    if not wait_gone(pid):
        os.kill(pid, signal.SIGKILL)  # so that this failure leaves nothing behind either
        pytest.fail(f"mock {pid} outlived the pytest run that was killed")
