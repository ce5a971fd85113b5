"""TLS for the server's ports: gRPC and REST, from certificate files that may change.

Rule 1: one set of files serves both faces: a certificate chain and its key
        (ROLLCALL_TLS_CERT_FILE, ROLLCALL_TLS_KEY_FILE) turn TLS on; a client
        CA (ROLLCALL_TLS_CLIENT_CA_FILE) makes it mutual: a client without a
        certificate signed by that CA is refused in the handshake.
Rule 2: the files are read again when they change, without a restart: each
        new connection's handshake compares the files' size and modification
        time with those last loaded (a stat, no read), and loads them anew
        when they differ. Connections already open keep the certificate they
        were opened with.
Rule 3: files that cannot be read or do not make a valid certificate at start
        stop the start (ValueError naming the setting); a bad set of files
        found later is logged once per change and the last good set is kept,
        so a half-written renewal never takes the server down.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import ssl
import threading
from pathlib import Path
from typing import Any

import grpc

log = logging.getLogger("rollcall.tls")

Stamp = tuple[tuple[int, int], ...]


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """Where the server's certificate, key and (for mutual TLS) client CA are."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> TlsFiles | None:
        """The settings' files, or None when TLS is off (no certificate given).
        ValueError when only half of a pair is given."""
        cert, key = settings.tls_cert_file, settings.tls_key_file
        ca = settings.tls_client_ca_file
        if not cert and not key:
            if ca:
                raise ValueError(
                    "ROLLCALL_TLS_CLIENT_CA_FILE needs ROLLCALL_TLS_CERT_FILE and"
                    " ROLLCALL_TLS_KEY_FILE"
                )
            return None
        if not cert or not key:
            raise ValueError("TLS needs both ROLLCALL_TLS_CERT_FILE and ROLLCALL_TLS_KEY_FILE")
        return cls(cert, key, ca)

    @property
    def mutual(self) -> bool:
        return bool(self.client_ca_file)

    def paths(self) -> tuple[str, ...]:
        return tuple(p for p in (self.cert_file, self.key_file, self.client_ca_file) if p)

    def stamp(self) -> Stamp:
        """What says the files changed: each one's modification time and size."""
        stamps = []
        for path in self.paths():
            try:
                st = os.stat(path)
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    def read(self) -> tuple[bytes, bytes, bytes | None]:
        """(certificate chain, key, client CA or None); OSError when unreadable."""
        ca = Path(self.client_ca_file).read_bytes() if self.client_ca_file else None
        return Path(self.cert_file).read_bytes(), Path(self.key_file).read_bytes(), ca

    def ssl_context(self) -> ssl.SSLContext:
        """A server context from the files as they are now (ssl.SSLError,
        OSError when they do not make one)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file:
            context.load_verify_locations(self.client_ca_file)
            context.verify_mode = ssl.CERT_REQUIRED
        # The REST gateway speaks HTTP/1.1 only.
        context.set_alpn_protocols(["http/1.1"])
        return context


def _setting_error(files: TlsFiles, exc: Exception) -> ValueError:
    words = " ".join(str(exc).split()) or type(exc).__name__
    named = ", ".join(files.paths())
    return ValueError(f"TLS files ({named}) do not make a certificate: {words}")


class GrpcCredentials:
    """grpc's dynamic server credentials over TlsFiles (Rule 2): grpc asks
    `fetch` at each new handshake; None keeps the configuration it has."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._lock = threading.Lock()  # grpc may ask from several threads
        self._stamp = files.stamp()
        try:
            # A context proves the files make a certificate and key that match:
            # grpc would only say so at the first handshake.
            files.ssl_context()
            initial = self._configuration()
        except (OSError, ssl.SSLError) as exc:
            raise _setting_error(files, exc) from exc
        self.reloads = 0
        self.credentials = grpc.dynamic_ssl_server_credentials(
            initial, self.fetch, require_client_authentication=files.mutual
        )

    def _configuration(self) -> Any:
        chain, key, ca = self.files.read()
        return grpc.ssl_server_certificate_configuration([(key, chain)], root_certificates=ca)

    def fetch(self) -> Any:
        with self._lock:
            stamp = self.files.stamp()
            if stamp == self._stamp:
                return None
            self._stamp = stamp
            try:
                self.files.ssl_context()
                configuration = self._configuration()
            except (OSError, ssl.SSLError) as exc:
                log.warning("TLS files changed but do not load; the last good ones stay: %s", exc)
                return None
            self.reloads += 1
            log.info("TLS certificate reloaded for gRPC")
            return configuration


class HttpContext:
    """The REST gateway's SSLContext over TlsFiles (Rule 2): the context given
    to the listening socket checks the files at each handshake (its SNI
    callback runs for every connection, with or without a server name) and
    moves the connection to a context loaded from the files as they are."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._stamp = files.stamp()
        try:
            self.context = files.ssl_context()
        except (OSError, ssl.SSLError) as exc:
            raise _setting_error(files, exc) from exc
        self.context.sni_callback = self._handshake
        self._current = self.context
        self.reloads = 0

    def _handshake(self, connection: Any, server_name: str | None, context: Any) -> None:
        stamp = self.files.stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                fresh = self.files.ssl_context()
            except (OSError, ssl.SSLError) as exc:
                log.warning("TLS files changed but do not load; the last good ones stay: %s", exc)
            else:
                self._current = fresh
                self.reloads += 1
                log.info("TLS certificate reloaded for REST")
        if self._current is not self.context:
            connection.context = self._current
