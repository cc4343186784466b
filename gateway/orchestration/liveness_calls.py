"""The LivenessService as the gateway calls it: one typed method per RPC.

Like ``embedding_calls``: each goes through ``ServiceClients.call`` (deadline, UNAVAILABLE
retries, fail-fast health, error mapping), so mypy checks the request and the reply, and each
declares what a retry after UNAVAILABLE sends (``Retry``).
"""

from __future__ import annotations

from faceflow.liveness.v1 import liveness_pb2 as pb
from faceflow.liveness.v1 import liveness_pb2_grpc

from gateway.core.clients import Retry, ServiceClients

VERIFY_DEADLINE_SECONDS = 60.0
"""A verification decodes and tracks up to 100 frames: longer than the default deadline."""


class LivenessCalls:
    """Typed LivenessService calls on the gateway's channel (503 when not deployed)."""

    def __init__(self, clients: ServiceClients) -> None:
        self._clients = clients
        self._stub = liveness_pb2_grpc.LivenessServiceStub(clients.channel("liveness"))

    async def check(self, request: pb.CheckRequest) -> pb.CheckResponse:
        """Passive liveness of the largest face (a read)."""
        reply: pb.CheckResponse = await self._clients.call(
            "liveness", self._stub.Check, request, retry=Retry.SAME
        )
        return reply

    async def create_session(self, request: pb.CreateSessionRequest) -> pb.Session:
        """A new action challenge. Resent as is after UNAVAILABLE: a session the first attempt
        may have made is never seen by the caller, unused, and expires."""
        reply: pb.Session = await self._clients.call(
            "liveness", self._stub.CreateSession, request, retry=Retry.SAME
        )
        return reply

    async def verify_session(self, request: pb.VerifySessionRequest) -> pb.VerifySessionResponse:
        """The verdict of a challenge (single use). Never resent: the first attempt may have
        used the session, and its verdict is not stored, so a retry could only answer
        SESSION_ALREADY_USED; UNAVAILABLE is answered 503 SERVICE_UNAVAILABLE."""
        reply: pb.VerifySessionResponse = await self._clients.call(
            "liveness",
            self._stub.VerifySession,
            request,
            retry=Retry.NEVER,
            timeout=VERIFY_DEADLINE_SECONDS,
        )
        return reply


def liveness(clients: ServiceClients) -> LivenessCalls:
    """The typed LivenessService calls (SERVICE_UNAVAILABLE when it is not deployed)."""
    return LivenessCalls(clients)
