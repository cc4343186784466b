"""Start the model services and the gateway as child processes, wait for health, stop cleanly.

Used by ``make run`` (``python -m deploy.local.run``) and by the end-to-end tests, so both
exercise the same start-up path.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.local.services import SERVICES, ServiceProcess
from gateway.core.config import REPO_ROOT
from services.shared.server import GRACE_SECONDS
from services.shared.topology import GATEWAY_PORT, SERVICE_NAMES

log = logging.getLogger("faceflow.launcher")


class LaunchError(RuntimeError):
    """A child failed to start or to become healthy (or a setting to launch it is wrong)."""


def _port_setting(environ: Mapping[str, str], name: str) -> int | None:
    """The port in ``environ[name]`` (None when unset or blank)."""
    text = environ.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise LaunchError(f"{name} must be a port number (1-65535), got {text!r}")
    return int(text)


@dataclass
class Launcher:
    """Owns the child processes."""

    data_dir: Path = REPO_ROOT / "var"
    host: str = "127.0.0.1"
    gateway_port: int = GATEWAY_PORT
    port_offset: int = 0
    services: Sequence[ServiceProcess] = SERVICES
    startup_timeout: float = 120.0
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    service_ports: Mapping[str, int] = field(default_factory=dict)  # by name, over the defaults
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Launcher:
        """``make run``'s launcher: ``FACEFLOW_GATEWAY_PORT`` and ``FACEFLOW_<SERVICE>_PORT``
        move a process off a port that is taken (LaunchError naming a value that is no port).
        Everything stays on 127.0.0.1."""
        gateway_port = _port_setting(environ, "FACEFLOW_GATEWAY_PORT")
        ports = {s.name: _port_setting(environ, f"{s.env_prefix}PORT") for s in SERVICES}
        return cls(
            gateway_port=gateway_port or GATEWAY_PORT,
            service_ports={name: port for name, port in ports.items() if port is not None},
        )

    def _port(self, service: ServiceProcess) -> int:
        return self.service_ports.get(service.name, service.port + self.port_offset)

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.extra_env}
        python_path = [str(REPO_ROOT), str(REPO_ROOT / "protos" / "gen")]
        env["PYTHONPATH"] = os.pathsep.join([*python_path, env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        started = {s.name for s in self.services}
        for service in self.services:
            env[f"{service.env_prefix}HOST"] = self.host
            env[f"{service.env_prefix}PORT"] = str(self._port(service))
            env[f"{service.env_prefix}DATA_DIR"] = str(self.data_dir / service.name)
            env[f"FACEFLOW_GATEWAY_{service.name.upper()}_ADDR"] = (
                f"{self.host}:{self._port(service)}"
            )
        for name in SERVICE_NAMES:
            if name not in started:
                env[f"FACEFLOW_GATEWAY_{name.upper()}_ADDR"] = ""
        env["FACEFLOW_GATEWAY_HOST"] = self.host
        env["FACEFLOW_GATEWAY_PORT"] = str(self.gateway_port)
        env["FACEFLOW_GATEWAY_DATA_DIR"] = str(self.data_dir / "gateway")
        return env

    def _spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )

    def _wait_grpc(self, service: ServiceProcess, deadline: float) -> None:
        address = f"{self.host}:{self._port(service)}"
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                self._check_alive(service.name)
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        log.info("%s is SERVING on %s", service.name, address)
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise LaunchError(
            f"{service.name} did not report SERVING within {self.startup_timeout:.0f} s"
        )

    def _wait_http(self, url: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive("gateway")
            try:
                with urllib.request.urlopen(url, timeout=1.0) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise LaunchError(f"the gateway did not become ready at {url}")

    def _check_alive(self, name: str) -> None:
        child = self.children[name]
        if child.poll() is not None:
            raise LaunchError(
                f"{name} exited with code {child.returncode} during start-up{self._log_tail(name)}"
            )

    def _log_tail(self, name: str, lines: int = 30) -> str:
        """The end of a child's log, so a start-up failure says why (empty without a log)."""
        if self.log_dir is None:
            return ""
        path = self.log_dir / f"{name}.log"
        if not path.is_file():
            return ""
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return f"; the end of {path}:\n" + "\n".join(tail)

    def service_address(self, name: str) -> str:
        """host:port of a started service."""
        service = next(s for s in self.services if s.name == name)
        return f"{self.host}:{self._port(service)}"

    @property
    def base_url(self) -> str:
        """The gateway's URL."""
        return f"http://{self.host}:{self.gateway_port}"

    def start(self) -> None:
        """Start every service, wait for SERVING, then the gateway, wait for /readyz."""
        env = self._env()
        deadline = time.monotonic() + self.startup_timeout
        try:
            for service in self.services:
                self._spawn(service.name, service.module, env)
            for service in self.services:
                self._wait_grpc(service, deadline)
            self._spawn("gateway", "gateway", env)
            self._wait_http(f"{self.base_url}/readyz", deadline)
        except BaseException:
            self.stop()
            raise

    def restart(self, name: str) -> None:
        """Start a model service again after it died (or was killed); wait until SERVING."""
        service = next(s for s in self.services if s.name == name)
        child = self.children.get(name)
        if child is not None and child.poll() is None:
            raise LaunchError(f"{name} is still running")
        self._spawn(service.name, service.module, self._env())
        self._wait_grpc(service, time.monotonic() + self.startup_timeout)

    def stop(self, grace: float = GRACE_SECONDS + 5.0) -> None:
        """SIGTERM every child, wait, then SIGKILL whatever is left."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        end = time.monotonic() + grace
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in time; killing it", name)
                child.kill()
                child.wait()
        self.children.clear()
