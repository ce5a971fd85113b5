"""TLS on every hop (issue 26): gRPC and REST served over TLS and mutual TLS,
the standalone gateway's link to the service, certificates reloaded without a
restart, and the refusals (an untrusted CA, an expired certificate, no client
certificate) told in words.

Certificates are made by each test (tests/certs.py). Refusal tests turn the
client's retries off: each would otherwise retry the handshake (UNAVAILABLE).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from clients import AsyncRollcallClient, RollcallClientError, cli
from clients.tls import ChannelTls
from service.gateway.server import Gateway
from service.gateway.standalone import serve_gateway
from tests.certs import Authority, Issued
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, make_settings, serving

CREATE = {"From": "+15005550006", "To": "+15558675310"}


class Pki:
    def __init__(self, folder: Path) -> None:
        self.ca = Authority.make(folder / "ca")
        self.other = Authority.make(folder / "other", "Other CA")
        self.server = self.ca.issue("rollcall", stem="server")
        self.client = self.ca.issue("client", client=True)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
async def mtls(tmp_path: Path, pki: Pki) -> AsyncIterator[Harness]:
    settings = make_settings(
        tmp_path,
        tls_cert_file=pki.server.cert_file,
        tls_key_file=pki.server.key_file,
        tls_client_ca_file=pki.ca.ca_file,
    )
    async with serving(settings) as h:
        yield h


def client(h: Harness, **tls: str | None) -> AsyncRollcallClient:
    return AsyncRollcallClient(
        h.grpc_target,
        ACCOUNT_SID,
        AUTH_TOKEN,
        timeout=20,
        retries=False,
        **tls,  # type: ignore[arg-type]
    )


def https(ca_file: str, issued: Issued | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if issued is not None:
        context.load_cert_chain(issued.cert_file, issued.key_file)
    return context


async def rest_create(base: str, context: ssl.SSLContext, conference: str) -> dict[str, object]:
    url = f"{base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}/Participants.json"
    async with (
        aiohttp.ClientSession(headers={"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}) as http,
        http.post(url, data=CREATE, ssl=context) as response,
    ):
        assert response.status == 201, await response.text()
        body: dict[str, object] = await response.json()
        return body


async def refusal(h: Harness, **tls: str | None) -> RollcallClientError:
    async with client(h, **tls) as rollcall:
        with pytest.raises(RollcallClientError) as caught:
            await rollcall.list_conferences()
    return caught.value


async def test_core_paths_over_mutual_tls_on_grpc_and_rest(mtls: Harness, pki: Pki) -> None:
    files = {"cert_file": pki.client.cert_file, "key_file": pki.client.key_file}
    async with client(mtls, ca_file=pki.ca.ca_file, **files) as rollcall:
        created = await rollcall.create_participant(
            "tls room", from_endpoint="+15005550006", to_endpoint="+15551230000", label="a"
        )
        fetched = await rollcall.fetch_participant("tls room", "a")
        assert fetched.call_sid == created.call_sid
        page = await rollcall.list_conferences()
        assert [c.friendly_name for c in page.conferences] == ["tls room"]
    # REST on the same certificate; https://localhost checks the name too.
    body = await rest_create(
        f"https://localhost:{mtls.app.http_port}", https(pki.ca.ca_file, pki.client), "tls room"
    )
    assert body["conference_sid"] == created.conference_sid
    # The queue probes reach the server past mutual TLS (its private socket).
    probe = mtls.app._queue_probe
    assert probe is not None and probe._channel is not None


async def test_refusals_say_why(mtls: Harness, pki: Pki) -> None:
    files = {"cert_file": pki.client.cert_file, "key_file": pki.client.key_file}
    untrusted = await refusal(mtls, ca_file=pki.other.ca_file, **files)
    assert (untrusted.code, untrusted.reason) == ("UNAVAILABLE", "TLS_HANDSHAKE_FAILED")
    assert untrusted.message == "TLS handshake failed: the certificate is signed by an untrusted CA"
    assert untrusted.twilio_code is None
    misnamed = await refusal(mtls, ca_file=pki.ca.ca_file, server_name="elsewhere.test", **files)
    assert misnamed.message == (
        "TLS handshake failed: the certificate does not carry the server's name"
    )
    # Mutual TLS: no client certificate, or one from another CA, gets nothing.
    anonymous = await refusal(mtls, ca_file=pki.ca.ca_file)
    assert anonymous.code == "UNAVAILABLE"
    assert anonymous.reason in ("TLS_HANDSHAKE_FAILED", "CONNECTION_FAILED")
    stranger = pki.other.issue("stranger", client=True)
    foreign = await refusal(
        mtls, ca_file=pki.ca.ca_file, cert_file=stranger.cert_file, key_file=stranger.key_file
    )
    assert foreign.code == "UNAVAILABLE"
    expired = pki.ca.issue("expired client", client=True, expired=True)
    late = await refusal(
        mtls, ca_file=pki.ca.ca_file, cert_file=expired.cert_file, key_file=expired.key_file
    )
    assert late.code == "UNAVAILABLE"
    # REST refuses the same way, in the handshake.
    with pytest.raises(aiohttp.ClientError):
        await rest_create(f"https://localhost:{mtls.app.http_port}", https(pki.ca.ca_file), "x")


async def test_an_expired_server_certificate_is_refused(tmp_path: Path, pki: Pki) -> None:
    expired = pki.ca.issue("old", expired=True)
    settings = make_settings(
        tmp_path, tls_cert_file=expired.cert_file, tls_key_file=expired.key_file
    )
    async with serving(settings) as h:
        error = await refusal(h, ca_file=pki.ca.ca_file)
        assert error.reason == "TLS_HANDSHAKE_FAILED"
        assert error.message == "TLS handshake failed: the certificate has expired"
        with pytest.raises(aiohttp.ClientConnectorCertificateError, match="expired"):
            await rest_create(f"https://localhost:{h.app.http_port}", https(pki.ca.ca_file), "x")


async def test_certificates_reload_without_a_restart(tmp_path: Path, pki: Pki) -> None:
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "tls.crt", live / "tls.key"
    shutil.copy(pki.server.cert_file, cert)
    shutil.copy(pki.server.key_file, key)
    settings = make_settings(tmp_path, tls_cert_file=str(cert), tls_key_file=str(key))
    async with serving(settings) as h:
        async with client(h, ca_file=pki.ca.ca_file) as rollcall:
            await rollcall.list_conferences()
        assert (await refusal(h, ca_file=pki.other.ca_file)).reason == "TLS_HANDSHAKE_FAILED"
        # A renewal from another CA, written over the files in place.
        renewed = pki.other.issue("rollcall", stem="renewed")
        shutil.copy(renewed.key_file, key)
        shutil.copy(renewed.cert_file, cert)
        os.utime(cert, ns=(1, 1))  # a new stamp even within the file system's clock tick
        async with client(h, ca_file=pki.other.ca_file) as rollcall:
            await rollcall.list_conferences()
        await rest_create(f"https://localhost:{h.app.http_port}", https(pki.other.ca_file), "r")
        # A half-written renewal keeps the last good certificate.
        shutil.copy(pki.client.cert_file, key)  # not a key
        async with client(h, ca_file=pki.other.ca_file) as rollcall:
            await rollcall.list_conferences()
        await rest_create(f"https://localhost:{h.app.http_port}", https(pki.other.ca_file), "r")


async def test_standalone_gateway_serves_https_and_reaches_the_service_over_mtls(
    mtls: Harness, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    front = pki.ca.issue("gateway", stem="gateway")
    monkeypatch.setenv("ROLLCALL_TLS_CERT_FILE", front.cert_file)
    monkeypatch.setenv("ROLLCALL_TLS_KEY_FILE", front.key_file)
    link = ChannelTls(
        ca_file=pki.ca.ca_file,
        cert_file=pki.client.cert_file,
        key_file=pki.client.key_file,
        server_name="localhost",
    )
    stop = asyncio.Event()
    started: asyncio.Future[Gateway] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_gateway(mtls.grpc_target, "127.0.0.1:0", stop, started.set_result, tls=link)
    )
    try:
        gateway = await asyncio.wait_for(started, 20)
        body = await rest_create(
            f"https://localhost:{gateway.port}", https(pki.ca.ca_file), "via gateway"
        )
        assert str(body["call_sid"]).startswith("CA")
    finally:
        stop.set()
        await task


def test_half_a_certificate_pair_stops_the_start(tmp_path: Path, pki: Pki) -> None:
    from service.app import App

    with pytest.raises(ValueError, match="both ROLLCALL_TLS_CERT_FILE and ROLLCALL_TLS_KEY_FILE"):
        App(make_settings(tmp_path, tls_cert_file=pki.server.cert_file))
    with pytest.raises(ValueError, match="do not make a certificate"):
        App(
            make_settings(
                tmp_path, tls_cert_file=pki.server.cert_file, tls_key_file=pki.client.key_file
            )
        )


@pytest.mark.slow  # the refused handshake is retried, as UNAVAILABLE is
async def test_the_cli_over_mutual_tls_and_its_refusal_in_one_line(
    mtls: Harness, pki: Pki, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = ["--target", mtls.grpc_target, "--account-sid", ACCOUNT_SID]
    connect += ["--auth-token", AUTH_TOKEN, "--cert-file", pki.client.cert_file]
    connect += ["--key-file", pki.client.key_file, "--server-name", "localhost"]
    code = await asyncio.to_thread(
        cli.main, ["conferences", "list", "--ca-file", pki.ca.ca_file, *connect]
    )
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    assert out.startswith("CONFERENCE SID")
    code = await asyncio.to_thread(
        cli.main, ["conferences", "list", "--ca-file", pki.other.ca_file, *connect]
    )
    out, err = capsys.readouterr()
    assert (code, out) == (4, "")
    assert err == (
        f"error: TLS handshake with {mtls.grpc_target} failed (TLS_HANDSHAKE_FAILED):"
        " the certificate is signed by an untrusted CA;"
        " give the CA that signed the server's certificate: --ca-file\n"
    )
