"""The lean upstream client over TLS (asyncio's ssl transports), against a loopback server with a self-signed cert."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway_api.proxy.http1 import ConnectionPool
from tests.proxy.http1.scripted_server import ScriptedServer, keep_replying
from tests.proxy.http1.test_pool import post, read_all


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway test upstream")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.mark.asyncio
async def test_https_upstream_with_a_trusted_certificate(certificate: tuple[Path, Path]) -> None:
    async with ScriptedServer(keep_replying(body=b'{"tls":true}'), ssl_context=server_context(certificate)) as server:
        pool = ConnectionPool(
            connect_timeout=5.0,
            keepalive_seconds=15.0,
            max_connections_per_host=8,
            ssl_context=ssl.create_default_context(cafile=str(certificate[0])),
        )
        assert server.url().startswith("https://")
        for _ in range(2):
            assert await read_all(await post(pool, server.url())) == b'{"tls":true}'
        assert server.connections == 1, "the TLS connection is kept alive and reused"
        assert server.requests[0].body == b'{"model":"m"}'
        pool.close()


@pytest.mark.asyncio
async def test_https_upstream_with_an_untrusted_certificate_is_refused(certificate: tuple[Path, Path]) -> None:
    async with ScriptedServer(keep_replying(), ssl_context=server_context(certificate)) as server:
        pool = ConnectionPool(connect_timeout=5.0, keepalive_seconds=15.0, max_connections_per_host=8)
        with pytest.raises(ssl.SSLCertVerificationError):
            await post(pool, server.url())
        assert server.requests == [], "nothing was sent over an unverified connection"
        pool.close()
