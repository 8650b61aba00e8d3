"""The upload of the write-up that started streamput, "Python使用socket完成流式分片上传文件"
(ShenNya, 2024): a raw socket sends the request line and the headers, then the file 1024 bytes
at a time, so that the server stores the file itself and not a multipart/form-data body around
it. Here it runs against the mock, whose journal says whether the body looked like multipart
framing; the second test is the negative control, a multipart body the journal must flag.
"""

import hashlib
import http.client
import os
import socket
import uuid

import pytest


# The write-up's final code, as published, with the two changes without which it cannot work
# at all: the port is a parameter (the original always connects to port 80, the mock listens on
# a free port), and the caller sends Content-Length in header (the original sends none, so an
# HTTP server reads the PUT as having no body and the file's bytes as the next request). Both
# changes are marked; everything else, send() and the single recv() included, is the original's.
def stream_upload(host, port, param, header: dict, src_path):  # changed: port
    tcp_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp_socket.connect((host, port))  # changed: the original's port 80
    body = f'PUT {param} HTTP/1.1\r\n'
    for key in header.keys():

        body += f'{key}:{header[key]}\r\n'
    # end header
    body += f'\r\n'
    tcp_socket.send(body.encode())

    with open(src_path, 'rb') as file_stream:
        chunk = file_stream.read(1024)
        while chunk:
            tcp_socket.send(chunk)
            chunk = file_stream.read(1024)
    # end data
    result = tcp_socket.recv(8192).decode()
    print(result)
    if '"code":200' in str(result):
        return True
    else:
        return False


def upload(mock, header, src):
    """stream_upload() of src to mock's /api/fs/put; its socket times out after 30 s (the
    original sets no timeout), so a hang fails the test instead of stalling it."""
    socket.setdefaulttimeout(30)
    try:
        return stream_upload("127.0.0.1", mock.port, '/api/fs/put', header, str(src))
    finally:
        socket.setdefaulttimeout(None)


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# The write-up never closes its socket; the warning that garbage collection gives about that is
# the original's, not something this test checks.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_write_up_upload_stores_the_file_without_multipart_framing(streamput_mock, tmp_path):
    src = tmp_path / "test.zip"
    # Not a multiple of 1024, so the last read is short, as most files' is.
    src.write_bytes(os.urandom(256 * 1024 + 7))
    size = src.stat().st_size
    # The write-up's headers, plus what AList's /api/fs/put needs (File-Path) and the
    # Content-Length the original left out.
    header = {
        'Accept': 'application/json, text/plain, */*',
        'Accept-Encoding': 'gzip, deflate',
        'Authorization': '',
        'File-Path': '/seed/test.zip',
        'Content-Length': str(size),  # added: the original sends no length
    }
    assert upload(streamput_mock, header, src), streamput_mock.log()

    e = streamput_mock.wait_for("/seed/test.zip")
    assert e["multipart_suspected"] is False
    assert e["content_length"] == size
    assert e["bytes_received"] == size
    assert e["transfer_encoding"] is None
    assert e["content_type"] is None
    assert e["stored"] is True and e["code"] == 200
    stored = streamput_mock.root / "seed" / "test.zip"
    assert _sha256(stored) == _sha256(src)


# Why the write-up's code needs Content-Length: without it the body is empty by HTTP's rules, and
# the mock answers as OpenList would not (it would store an empty file) with an error saying so.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_write_up_upload_without_content_length_stores_nothing(streamput_mock, tmp_path):
    src = tmp_path / "test.zip"
    src.write_bytes(os.urandom(4096))
    header = {'Authorization': '', 'File-Path': '/seed/test.zip'}
    try:
        ok = upload(streamput_mock, header, src)
    except ConnectionError:
        # The mock answers and closes on reading the head; a send of the file's bytes after
        # that may meet the reset. Either way the upload did not work.
        ok = False
    assert not ok
    e = streamput_mock.wait_for("/seed/test.zip")
    assert e["code"] == 400 and "no Content-Length" in e["message"]
    assert e["bytes_received"] == 0 and e["stored"] is False
    assert not (streamput_mock.root / "seed" / "test.zip").exists()


def test_multipart_body_is_flagged_and_stored_with_its_boundary(streamput_mock):
    # What the write-up set out to avoid: MultipartEncoder's framing around the file "nihao",
    # built by hand as the write-up shows it, sent to the same route with http.client.
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="nihao.txt"\r\n'
            f"Content-Type: text/plain\r\n"
            f"\r\n"
            f"nihao\r\n"
            f"--{boundary}--\r\n").encode()
    conn = http.client.HTTPConnection("127.0.0.1", streamput_mock.port, timeout=30)
    try:
        conn.request("PUT", "/api/fs/put", body=body,
                     headers={"File-Path": "/seed/nihao.txt",
                              "Content-Type": f"multipart/form-data; boundary={boundary}"})
        r = conn.getresponse()
        answer = r.read()
    finally:
        conn.close()
    assert r.status == 200, answer

    e = streamput_mock.wait_for("/seed/nihao.txt")
    assert e["multipart_suspected"] is True
    assert e["bytes_received"] == len(body)
    # Without --strict the mock stores what it was sent, as AList does: the framing and all.
    stored = (streamput_mock.root / "seed" / "nihao.txt").read_bytes()
    assert stored == body
    assert stored.startswith(f"--{boundary}\r\n".encode())
