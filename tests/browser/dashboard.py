#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium loads GET /_mock/ from a running mock while
an upload is in flight, and the page's live DOM must show that upload, a journal row with the
multipart mark and a multipart session's strip; a screenshot of it is written under the build tree.

Chromium is driven over its DevTools protocol (a WebSocket, spoken here with the standard library
alone) rather than with --dump-dom, which dumps at the load event: the page is filled in after
that, by its event stream, and a stream that never ends also keeps --virtual-time-budget from
ever running out.

  dashboard.py MOCK STREAMPUT OUTDIR
Exit 0 on success, 1 on a failure, 77 (skipped) when chromium is missing and CI is not set.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DEADLINE = time.monotonic() + 90  # the whole test; ctest's TIMEOUT is the backstop


def fail(msg):
    print("dashboard.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def left():
    return DEADLINE - time.monotonic()


class DevTools:
    """A minimal client of one DevTools WebSocket: masked text frames out, whole messages in."""

    def __init__(self, ws_url):
        hostport, path = ws_url[len("ws://"):].split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=max(1, left()))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.sock.recv(4096)
            if not b:
                fail("DevTools closed the WebSocket handshake")
            head += b
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            fail("DevTools refused the WebSocket: %r" % head[:200])
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.1, left()))
            b = self.sock.recv(1 << 16)
            if not b:
                fail("DevTools closed the WebSocket")
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _message(self):
        data = b""
        while True:
            h = self._read(2)
            fin, op, n = h[0] & 0x80, h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            payload = self._read(n)
            if op == 8:
                fail("DevTools closed the WebSocket")
            if op in (0, 1, 2):
                data += payload
                if fin:
                    return json.loads(data)

    def call(self, method, **params):
        self.next_id += 1
        msg = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(msg)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else
                                bytes([0x80 | 127]) + n.to_bytes(8, "big"))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        while True:
            m = self._message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")


def http(port, method, path, headers=None, body=b""):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body or None,
                                 method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def start_chromium(profile):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI", "") not in ("", "0", "false"):
            fail("chromium is not installed, and CI must run this test "
                 "(bash ci/install-deps.sh --ci installs it)")
        print("dashboard.py: chromium is not installed: skipped", file=sys.stderr)
        sys.exit(77)
    # Root needs --no-sandbox; the rest keeps a headless run quiet and reproducible.
    p = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu",
                          "--no-first-run", "--no-default-browser-check",
                          "--disable-extensions", "--window-size=1280,900",
                          "--remote-debugging-port=0", "--remote-allow-origins=*",
                          "--user-data-dir=" + profile, "about:blank"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # A browser that never says where it listens must not hold the test until ctest's timeout.
    watchdog = threading.Timer(max(1, left()), p.kill)
    watchdog.daemon = True
    watchdog.start()
    for line in p.stderr:
        if "DevTools listening on " in line:
            ws = line.split("DevTools listening on ", 1)[1].strip()
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, int(ws.split(":")[2].split("/")[0])
        if left() < 0:
            break
    p.kill()
    fail("chromium did not open its DevTools port")


def main():
    mock_bin, client_bin, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sp-browser-")
    root = os.path.join(work, "root")
    os.mkdir(root)
    procs = []
    try:
        chrome, devport = start_chromium(os.path.join(work, "profile"))
        procs.append(chrome)
        mock = subprocess.Popen([mock_bin, "--listen", "127.0.0.1:0", "--root", root],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(mock)
        first = mock.stdout.readline()
        if "listening on" not in first:
            fail("the mock did not start: %r" % first)
        port = int(first.rsplit(":", 1)[1].strip().rstrip("/"))

        # A finished request whose body looked like multipart framing: the red mark.
        framed = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhi\r\n--xyz--\r\n"
        http(port, "PUT", "/api/fs/put", {"File-Path": "/browser/framed.txt"}, framed)
        # A multipart session with chunks 0, 1 and 3 of 8 in: a strip with two runs.
        init = json.loads(http(port, "POST", "/api/fs/multipart/init",
                               {"File-Path": "/browser/parts.bin", "X-File-Size": str(8 << 20),
                                "X-Chunk-Size": str(1 << 20)}))
        uid = init["data"]["upload_id"]
        for idx in (0, 1, 3):
            http(port, "PUT", "/api/fs/multipart/chunk",
                 {"X-Upload-Id": uid, "X-Chunk-Index": str(idx)}, b"c" * (1 << 20))

        # The upload in flight: the real client, held to 256 KiB/s over 32 MiB (two minutes),
        # stopped once the page has been read.
        src = os.path.join(work, "slow.bin")
        with open(src, "wb") as f:
            f.truncate(32 << 20)
        client = subprocess.Popen([client_bin, "--limit-rate", "256K", "-p", "/browser/slow.bin",
                                   src, "http://127.0.0.1:%d/api/fs/put" % port],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(client)

        targets = json.loads(urllib.request.urlopen(
            "http://127.0.0.1:%d/json/list" % devport, timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        dt = DevTools(page["webSocketDebuggerUrl"])
        dt.call("Page.enable")
        dt.call("Page.navigate", url="http://127.0.0.1:%d/_mock/" % port)

        # What the page must show: the upload in flight past 1 % of its size, the framed
        # request with its mark, and the session's strip with its two runs.
        probe = """(() => {
          const up = [...document.querySelectorAll('#uploads tr.upload')]
            .find(tr => tr.textContent.includes('/browser/slow.bin'));
          const row = [...document.querySelectorAll('#journal tbody tr')]
            .find(tr => tr.dataset.filePath === '/browser/framed.txt');
          const ses = [...document.querySelectorAll('#sessions tr.session')]
            .find(tr => tr.textContent.includes('/browser/parts.bin'));
          return {live: document.body.dataset.state === 'live',
                  upload: !!up,
                  moving: !!up && parseFloat(up.querySelector('.bar > div').style.width) >= 1,
                  marked: !!row && row.classList.contains('suspect') && !!row.querySelector('.mark'),
                  strip: ses ? ses.querySelectorAll('.strip > div').length : 0};
        })()"""
        seen = {}
        while left() > 10:
            seen = dt.evaluate(probe) or {}
            if seen.get("live") and seen.get("moving") and seen.get("marked") and \
                    seen.get("strip") == 2:
                break
            time.sleep(0.25)
        else:
            fail("the page never showed everything: %s" % seen)

        dom = dt.evaluate("document.documentElement.outerHTML")
        with open(os.path.join(outdir, "dashboard.html"), "w") as f:
            f.write(dom)
        png = base64.b64decode(dt.call("Page.captureScreenshot", format="png")["data"])
        shot = os.path.join(outdir, "dashboard.png")
        with open(shot, "wb") as f:
            f.write(png)
        if len(png) < 1000 or not png.startswith(b"\x89PNG\r\n\x1a\n"):
            fail("the screenshot is not a PNG (%d bytes)" % len(png))
        if client.poll() is not None:
            fail("the upload ended before the page was read, exit %s" % client.returncode)
        print("dashboard.py: the page showed %s; screenshot %s (%d bytes), DOM %s" %
              (seen, shot, len(png), os.path.join(outdir, "dashboard.html")))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
