"""Token and TLS on a real server: every call but the health check needs the token; TLS with a
self-signed certificate made here by openssl; the token never reaches the server's log."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from conftest import require_tool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from service_support import ServerProcess, status_of

from animgen.v1 import service_pb2
from animgen_ml.errors import InputError
from animgen_server.client import AnimGenClient

TOKEN = "s3cret-token-for-tests-7f1c"
Code = grpc.StatusCode


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    # The token comes from the environment, the way a deployment would pass it.
    s = ServerProcess(d / "data", "--tls-cert", str(d / "cert.pem"), "--tls-key", str(d / "key.pem"),
                      env={"ANIMGEN_TOKEN": TOKEN}).start()
    s.ca = d / "cert.pem"
    yield s
    assert s.stop() == 0
    assert TOKEN not in s.output()


def test_health_needs_no_token(tls_server):
    creds = grpc.ssl_channel_credentials(root_certificates=tls_server.ca.read_bytes())
    with grpc.secure_channel(tls_server.address, creds) as ch:
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x"])
def test_missing_or_wrong_token_is_unauthenticated(tls_server, token, monkeypatch, tmp_path):
    monkeypatch.delenv("ANIMGEN_TOKEN", raising=False)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\0" * 1000)
    with AnimGenClient(tls_server.address, token=token, tls_ca=tls_server.ca, timeout=10) as c:
        assert status_of(c.info) == Code.UNAUTHENTICATED
        assert status_of(lambda: c.list()) == Code.UNAUTHENTICATED
        assert status_of(lambda: c.upload(video)) == Code.UNAUTHENTICATED
        assert status_of(lambda: list(c.watch("x"))) == Code.UNAUTHENTICATED
        assert status_of(lambda: c.result("x")) == Code.UNAUTHENTICATED
        assert status_of(lambda: c.cancel("x")) == Code.UNAUTHENTICATED
    assert not list((tls_server.data_dir / "uploads").iterdir())


def test_right_token_over_tls(tls_server, tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"\1" * 5000)
    with AnimGenClient(tls_server.address, token=TOKEN, tls_ca=tls_server.ca, timeout=10) as c:
        info = c.info()
        assert info.auth_required
        up = c.upload(video)
        assert up.size_bytes == 5000
        assert status_of(lambda: c.start(up.upload_id)) == Code.INVALID_ARGUMENT  # not a video
        assert status_of(lambda: c.result("x")) == Code.NOT_FOUND
        assert isinstance(c.list(), list)


def test_plaintext_client_cannot_talk_to_tls_server(tls_server):
    with AnimGenClient(tls_server.address, token=TOKEN, timeout=5) as c:
        assert status_of(c.info) == Code.UNAVAILABLE


def test_job_state_names_are_stable():
    # Clients (the CLI table, the engine plugins) show these names; the protocol numbers must not move.
    assert service_pb2.JOB_STATE_INTERRUPTED == 6 and service_pb2.JOB_STATE_CANCELLED == 5


def test_a_token_no_client_could_send_is_refused_at_start(tmp_path):
    """A token travels as an HTTP/2 header: "pässwörd" had started a server no client could then reach."""
    import sys

    for token in ("pässwörd", " padded ", "tab\there"):
        proc = subprocess.run([sys.executable, "-m", "animgen_server.cli", "serve", "--port", "0", "--data-dir",
                               str(tmp_path / "store"), "--token", token], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "a token must be printable ASCII" in proc.stderr, proc.stderr
        with pytest.raises(InputError, match="printable ASCII"):
            AnimGenClient("127.0.0.1:1", token=token)
