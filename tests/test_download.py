"""`ofa import-supernet --download`: a real HTTP server on 127.0.0.1 serves a checkpoint the test
writes; downloads resume with Range requests after an interruption, the sha256 is recorded, and no
network is a one-line error. Tests never reach beyond this machine."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from ofa.download import download
from ofa.errors import OfaError

NAME = "ofa_mbv3_d234_e346_k357_w1.2"


class Server:
    """Serves `files` (name -> bytes) with Range support; `cut` sends only that many bytes of a reply
    and closes the connection (a dropped download); `ranges` records the Range headers it was sent."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.cut, self.ranges = files, None, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404, "not found")
                    return
                outer.ranges.append(self.headers.get("Range"))
                start = int(self.headers["Range"][6:].split("-")[0]) if self.headers.get("Range") else 0
                if start >= len(body):  # nothing there: 416, with the file's size
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                part = body[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(part)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.end_headers()
                self.wfile.write(part if outer.cut is None else part[: outer.cut])
                if outer.cut is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def checkpoint():
    """A once-for-all w1.2 checkpoint (the layout test_supernet_import builds), as bytes."""
    import io

    from test_supernet_import import ofa_checkpoint

    buffer = io.BytesIO()
    torch.save({"state_dict": ofa_checkpoint()}, buffer)
    return buffer.getvalue()


@pytest.fixture
def server(checkpoint):
    s = Server({NAME: checkpoint, "small.bin": bytes(range(256)) * 4000})
    yield s
    s.close()


def test_a_dropped_download_continues_where_it_stopped(server, tmp_path):
    body = server.files["small.bin"]
    server.cut = 300_000
    with pytest.raises(OfaError, match="run the same command again"):
        download(server.url + "small.bin", tmp_path / "small.bin")
    assert (tmp_path / "small.bin.part").stat().st_size == 300_000 and not (tmp_path / "small.bin").exists()
    server.cut = None
    record = download(server.url + "small.bin", tmp_path / "small.bin")
    assert server.ranges == [None, "bytes=300000-"]  # the second request asked only for the rest
    assert (tmp_path / "small.bin").read_bytes() == body and not (tmp_path / "small.bin.part").exists()
    assert record["sha256"] == hashlib.sha256(body).hexdigest() and record["bytes"] == len(body)
    assert json.loads((tmp_path / "small.bin.json").read_text()) == record
    assert download(server.url + "small.bin", tmp_path / "small.bin") == record and len(server.ranges) == 2  # cached


def test_a_part_that_is_whole_is_kept_and_one_longer_than_the_file_is_fetched_again(server, tmp_path):
    body = server.files["small.bin"]
    (tmp_path / "small.bin.part").write_bytes(body)  # stopped after the last byte, before the rename
    assert download(server.url + "small.bin", tmp_path / "small.bin")["sha256"] == hashlib.sha256(body).hexdigest()
    assert server.ranges == [f"bytes={len(body)}-"]
    (tmp_path / "other.bin.part").write_bytes(body + b"stale tail")
    server.files["other.bin"] = body
    download(server.url + "other.bin", tmp_path / "other.bin")
    assert (tmp_path / "other.bin").read_bytes() == body and server.ranges[-1] is None  # from the start


def test_a_changed_cached_file_is_fetched_again(server, tmp_path):
    download(server.url + "small.bin", tmp_path / "small.bin")
    (tmp_path / "small.bin").write_bytes(b"tampered")
    download(server.url + "small.bin", tmp_path / "small.bin")
    assert (tmp_path / "small.bin").read_bytes() == server.files["small.bin"] and len(server.ranges) == 2


def test_import_supernet_download_makes_a_run_that_records_where_it_came_from(server, tmp_path, run_cli):
    code, out, err = run_cli("import-supernet", "--download", NAME, "--mirror", server.url, "--cache",
                             str(tmp_path / "cache"), "--out", str(tmp_path / "run"), "-q")
    assert code == 0, err
    source = json.loads((tmp_path / "run" / "run.json").read_text())["source"]
    assert source["published"] == NAME and source["url"] == server.url + NAME
    assert source["sha256"] == hashlib.sha256(server.files[NAME]).hexdigest()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["space"] == "mbv3-w1.2"


def test_no_network_or_a_wrong_name_is_one_line_and_writes_nothing(server, tmp_path, run_cli):
    port = server.httpd.server_address[1]
    server.close()  # nothing listens there any more
    cases = [
        (["--download", NAME, "--mirror", f"http://127.0.0.1:{port}/"], "cannot download"),
        (["--download", NAME, "--mirror", str(tmp_path)], "expected an http:// or https:// address"),
        (["--download", "ofa_mbv3_nosuch"], "unknown published supernet"),
        (["--download", NAME, "--space", "mbv3-w1.0"], "fills space 'mbv3-w1.2'"),
        ([], "either a checkpoint FILE or --download"),
    ]
    for args, message in cases:
        code, _, err = run_cli("import-supernet", *args, "--cache", str(tmp_path / "cache"), "--out",
                               str(tmp_path / "run"), "-q")
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert not (tmp_path / "run").exists() and not any((tmp_path / "cache").glob("*"))


def test_help_names_every_published_supernet(run_cli):
    from ofa.supernet.importers import IMPORTERS

    code, out, _ = run_cli("import-supernet", "--help")
    text = " ".join(out.split())
    assert code == 0 and all(name in text for i in IMPORTERS.values() for name in i.published)
