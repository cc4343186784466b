"""The HTTPS check scripts/docker_e2e.sh runs against the proxy's TLS port.

``python -m deploy.docker.tls_check --url https://HOST:PORT --key KEY (--ca FILE | --served)``

A real TLS handshake that verifies the certificate chain and the host name, as a WeChat client
or a browser does:

- ``--ca FILE``: the chain must lead to this CA (``FACEFLOW_TLS=files`` with a certificate the
  e2e signed with its own CA);
- ``--served``: the certificate the server presents is fetched first and then trusted as the
  only CA (``FACEFLOW_TLS=self-signed``): the handshake, the host name in its subjectAltName and
  its validity are still checked.

Then: TLS 1.2 or newer was negotiated, ``/healthz`` answers 200, ``/api/v1/detect`` finds the
face in a real photo, a client limited to TLS 1.2 gets in, and a plain-HTTP request to the TLS
port is refused by nginx (400). Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import io
import ssl
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image

MODERN = {"TLSv1.2", "TLSv1.3"}


class TlsCheckFailedError(AssertionError):
    """The TLS endpoint did not behave."""


def served_certificate(host: str, port: int) -> str:
    """The PEM certificate the server presents (no verification: it is what we then trust)."""
    return ssl.get_server_certificate((host, port))


def verified_context(ca_file: Path, newest: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client context that trusts only ca_file and checks host names (up to ``newest``)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if newest is not None:
        context.maximum_version = newest
    return context


def negotiated_version(response: httpx.Response) -> str:
    """The TLS version of the connection that carried a response."""
    stream = response.extensions["network_stream"]
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        raise TlsCheckFailedError("the response did not come over TLS")
    return str(ssl_object.version())


def photo_jpeg() -> bytes:
    """scikit-image's astronaut as JPEG: one clear face."""
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="JPEG", quality=92)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def check(url: str, key: str, ca_file: Path) -> list[str]:
    """Every check over a verified connection; the names of those that passed."""
    passed = []
    with httpx.Client(base_url=url, verify=verified_context(ca_file), timeout=60.0) as client:
        health = client.get("/healthz")
        if health.status_code != 200:
            raise TlsCheckFailedError(f"/healthz over TLS: HTTP {health.status_code}")
        version = negotiated_version(health)
        if version not in MODERN:
            raise TlsCheckFailedError(f"negotiated {version}, want TLS 1.2 or 1.3")
        passed.append(f"verified handshake ({version})")
        files = {"image": ("astronaut.jpg", photo_jpeg(), "image/jpeg")}
        detect = client.post("/api/v1/detect", files=files, headers={"x-api-key": key})
        faces = detect.json().get("faces", []) if detect.status_code == 200 else []
        if len(faces) != 1:
            raise TlsCheckFailedError(f"detect over TLS: HTTP {detect.status_code} {detect.text}")
        passed.append("detect over TLS")
    # Clients that stop at TLS 1.2 (older WeChat and Android versions) must get in too.
    tls12 = verified_context(ca_file, ssl.TLSVersion.TLSv1_2)
    with httpx.Client(base_url=url, verify=tls12, timeout=60.0) as client:
        health = client.get("/healthz")
        if health.status_code != 200 or negotiated_version(health) != "TLSv1.2":
            raise TlsCheckFailedError(f"a TLS 1.2 client: HTTP {health.status_code}")
        passed.append("TLS 1.2 client")
    parts = urlsplit(url)
    plain = httpx.get(f"http://{parts.hostname}:{parts.port}/healthz", timeout=10.0)
    if plain.status_code != 400:
        raise TlsCheckFailedError(f"plain HTTP on the TLS port: HTTP {plain.status_code}")
    passed.append("plain HTTP refused on the TLS port")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.docker.tls_check")
    parser.add_argument("--url", required=True, help="e.g. https://localhost:18443")
    parser.add_argument("--key", required=True, help="an API key of a tenant")
    trust = parser.add_mutually_exclusive_group(required=True)
    trust.add_argument("--ca", type=Path, help="the CA that signed the server's certificate")
    trust.add_argument("--served", action="store_true", help="trust the served certificate")
    options = parser.parse_args(argv)
    try:
        if options.served:
            parts = urlsplit(options.url)
            with tempfile.TemporaryDirectory() as folder:
                ca_file = Path(folder) / "served.pem"
                ca_file.write_text(served_certificate(parts.hostname or "", parts.port or 443))
                passed = check(options.url, options.key, ca_file)
        else:
            passed = check(options.url, options.key, options.ca)
    except (TlsCheckFailedError, httpx.HTTPError, ssl.SSLError, OSError) as error:
        sys.stderr.write(f"tls_check FAILED: {error}\n")
        return 1
    sys.stdout.write(f"tls_check: passed {', '.join(passed)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
