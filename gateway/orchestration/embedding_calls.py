"""The EmbeddingService as the gateway calls it: one typed method per RPC.

Each goes through ``ServiceClients.call`` (the shared deadline, UNAVAILABLE retries, fail-fast
health and error mapping), so a route writes ``embedding(clients).add_face(request)`` and
mypy checks the request and the reply, instead of naming the RPC by a string. Each declares
what a retry after UNAVAILABLE sends (``Retry``; the first attempt may have committed): reads
and keyed writes the same request, the other writes a copy marked ``retry``, which the service
answers as the first attempt would have (so a retry never duplicates or errors).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from faceflow.embedding.v1 import embedding_pb2 as pb
from faceflow.embedding.v1 import embedding_pb2_grpc

from gateway.core.clients import Retry, ServiceClients

Request = TypeVar("Request")
Reply = TypeVar("Reply")


class EmbeddingCalls:
    """Typed EmbeddingService calls on the gateway's channel (503 when not deployed)."""

    def __init__(self, clients: ServiceClients) -> None:
        self._clients = clients
        self._stub = embedding_pb2_grpc.EmbeddingServiceStub(clients.channel("embedding"))

    async def _call(
        self,
        method: Callable[..., Awaitable[Reply]],
        request: Request,
        retry: Retry,
        timeout: float | None = None,
    ) -> Reply:
        return await self._clients.call("embedding", method, request, retry=retry, timeout=timeout)

    async def embed(self, request: pb.EmbedRequest) -> pb.EmbedResponse:
        """Embeddings of aligned crops."""
        return await self._call(self._stub.Embed, request, Retry.SAME)

    async def verify(self, request: pb.VerifyRequest) -> pb.VerifyResponse:
        """1:1 comparison."""
        return await self._call(self._stub.Verify, request, Retry.SAME)

    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        """1:N search."""
        return await self._call(self._stub.Search, request, Retry.SAME)

    async def create_group(self, request: pb.CreateGroupRequest) -> pb.Group:
        """A new empty group; a retry returns the group instead of ALREADY_EXISTS."""
        return await self._call(self._stub.CreateGroup, request, Retry.MARKED)

    async def list_groups(self, request: pb.ListGroupsRequest) -> pb.ListGroupsResponse:
        """The tenant's groups."""
        return await self._call(self._stub.ListGroups, request, Retry.SAME)

    async def delete_group(self, request: pb.DeleteGroupRequest) -> pb.DeleteResponse:
        """A group with its users and faces; a retry finding it gone succeeds."""
        return await self._call(self._stub.DeleteGroup, request, Retry.MARKED)

    async def add_face(self, request: pb.AddFaceRequest) -> pb.AddFaceResponse:
        """Enroll a face; a retry after UNAVAILABLE says so (``retry``) to stay idempotent."""
        return await self._call(self._stub.AddFace, request, Retry.MARKED)

    async def list_users(self, request: pb.ListUsersRequest) -> pb.ListUsersResponse:
        """One page of a group's users."""
        return await self._call(self._stub.ListUsers, request, Retry.SAME)

    async def get_user(self, request: pb.GetUserRequest) -> pb.User:
        """A user with their faces."""
        return await self._call(self._stub.GetUser, request, Retry.SAME)

    async def delete_user(self, request: pb.DeleteUserRequest) -> pb.DeleteResponse:
        """A user with their faces; a retry finding them gone succeeds."""
        return await self._call(self._stub.DeleteUser, request, Retry.MARKED)

    async def delete_face(self, request: pb.DeleteFaceRequest) -> pb.DeleteResponse:
        """One face of a user; a retry finding it gone succeeds."""
        return await self._call(self._stub.DeleteFace, request, Retry.MARKED)

    async def get_face_thumbnail(self, request: pb.GetFaceThumbnailRequest) -> pb.FaceThumbnail:
        """The JPEG kept with one face of a user."""
        return await self._call(self._stub.GetFaceThumbnail, request, Retry.SAME)

    async def create_cluster_job(
        self, request: pb.CreateClusterJobRequest, timeout: float | None = None
    ) -> pb.ClusterJob:
        """A new clustering job over faces (crops or enrolled face tokens); the service embeds
        every crop before it answers, hence the ``timeout`` of its own. Resent as is after
        UNAVAILABLE: its ``request_key`` makes a repeat return the job the first attempt made."""
        return await self._call(self._stub.CreateClusterJob, request, Retry.SAME, timeout)

    async def add_cluster_faces(
        self, request: pb.AddClusterFacesRequest, timeout: float | None = None
    ) -> pb.ClusterJob:
        """More faces for a clustering job (embedded before the answer, as for create).

        Resent as is after UNAVAILABLE: its ``request_key`` makes a repeat return the faces the
        first attempt added instead of adding them twice."""
        return await self._call(self._stub.AddClusterFaces, request, Retry.SAME, timeout)

    async def get_cluster_job(self, request: pb.GetClusterJobRequest) -> pb.ClusterJob:
        """A clustering job with one page of its result."""
        return await self._call(self._stub.GetClusterJob, request, Retry.SAME)

    async def delete_cluster_job(self, request: pb.DeleteClusterJobRequest) -> pb.DeleteResponse:
        """A clustering job with its faces and result; a retry finding it gone succeeds."""
        return await self._call(self._stub.DeleteClusterJob, request, Retry.MARKED)


def embedding(clients: ServiceClients) -> EmbeddingCalls:
    """The typed EmbeddingService calls (SERVICE_UNAVAILABLE when it is not deployed)."""
    return EmbeddingCalls(clients)
