"""How a client reaches a Rollcall server over TLS: credentials from files.

Rule 1: TLS is on when asked for (secure) or when any file is given: the CA
        that signed the server's certificate (else the system's roots), and a
        client certificate and key for mutual TLS (both or neither).
Rule 2: server_name checks the server's certificate against that name instead
        of the target's host (an address, or a name the certificate lacks).
Rule 3: files are read once, when the channel is made; a missing file is a
        ValueError naming it, before anything is sent.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import grpc

__all__ = ["ChannelTls"]


@dataclasses.dataclass(frozen=True)
class ChannelTls:
    """TLS for a channel: see the module's rules."""

    secure: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.secure or self.ca_file or self.cert_file or self.key_file)

    def credentials(self) -> grpc.ChannelCredentials:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("a client certificate needs both cert_file and key_file")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_file, "ca_file"),
            private_key=_read(self.key_file, "key_file"),
            certificate_chain=_read(self.cert_file, "cert_file"),
        )

    def options(self) -> tuple[tuple[str, Any], ...]:
        if self.enabled and self.server_name:
            return (("grpc.ssl_target_name_override", self.server_name),)
        return ()


def _read(path: str | None, what: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"{what} {path}: {exc.strerror or exc}") from exc
