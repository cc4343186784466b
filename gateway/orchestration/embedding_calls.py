"""The EmbeddingService as the gateway calls it: one typed method per RPC.

Each goes through ``ServiceClients.call`` (the shared deadline, UNAVAILABLE retries, fail-fast
health and error mapping), so a route writes ``embedding(clients).add_face(request)`` and
mypy checks the request and the reply, instead of naming the RPC by a string.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from faceflow.embedding.v1 import embedding_pb2 as pb
from faceflow.embedding.v1 import embedding_pb2_grpc

from gateway.core.clients import ServiceClients

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
        retry_request: Callable[[], Request] | None = None,
        timeout: float | None = None,
    ) -> Reply:
        return await self._clients.call(
            "embedding", method, request, timeout=timeout, retry_request=retry_request
        )

    async def embed(self, request: pb.EmbedRequest) -> pb.EmbedResponse:
        """Embeddings of aligned crops."""
        return await self._call(self._stub.Embed, request)

    async def verify(self, request: pb.VerifyRequest) -> pb.VerifyResponse:
        """1:1 comparison."""
        return await self._call(self._stub.Verify, request)

    async def search(self, request: pb.SearchRequest) -> pb.SearchResponse:
        """1:N search."""
        return await self._call(self._stub.Search, request)

    async def create_group(self, request: pb.CreateGroupRequest) -> pb.Group:
        """A new empty group."""
        return await self._call(self._stub.CreateGroup, request)

    async def list_groups(self, request: pb.ListGroupsRequest) -> pb.ListGroupsResponse:
        """The tenant's groups."""
        return await self._call(self._stub.ListGroups, request)

    async def delete_group(self, request: pb.DeleteGroupRequest) -> pb.DeleteResponse:
        """A group with its users and faces."""
        return await self._call(self._stub.DeleteGroup, request)

    async def add_face(self, request: pb.AddFaceRequest) -> pb.AddFaceResponse:
        """Enroll a face; a retry after UNAVAILABLE says so (``retry``) to stay idempotent."""

        def retried() -> pb.AddFaceRequest:  # a copy of the upload only when a retry happens
            again = pb.AddFaceRequest()
            again.CopyFrom(request)
            again.retry = True
            return again

        return await self._call(self._stub.AddFace, request, retry_request=retried)

    async def list_users(self, request: pb.ListUsersRequest) -> pb.ListUsersResponse:
        """One page of a group's users."""
        return await self._call(self._stub.ListUsers, request)

    async def get_user(self, request: pb.GetUserRequest) -> pb.User:
        """A user with their faces."""
        return await self._call(self._stub.GetUser, request)

    async def delete_user(self, request: pb.DeleteUserRequest) -> pb.DeleteResponse:
        """A user with their faces."""
        return await self._call(self._stub.DeleteUser, request)

    async def delete_face(self, request: pb.DeleteFaceRequest) -> pb.DeleteResponse:
        """One face of a user."""
        return await self._call(self._stub.DeleteFace, request)

    async def get_face_thumbnail(self, request: pb.GetFaceThumbnailRequest) -> pb.FaceThumbnail:
        """The JPEG kept with one face of a user."""
        return await self._call(self._stub.GetFaceThumbnail, request)

    async def create_cluster_job(
        self, request: pb.CreateClusterJobRequest, timeout: float | None = None
    ) -> pb.ClusterJob:
        """A new clustering job over faces (crops or enrolled face tokens); the service embeds
        every crop before it answers, hence the ``timeout`` of its own."""
        return await self._call(self._stub.CreateClusterJob, request, timeout=timeout)

    async def add_cluster_faces(
        self, request: pb.AddClusterFacesRequest, timeout: float | None = None
    ) -> pb.ClusterJob:
        """More faces for a clustering job (embedded before the answer, as for create).

        Not retried after UNAVAILABLE: the first attempt may have added the faces."""
        return await self._call(
            self._stub.AddClusterFaces, request, retry_request=None, timeout=timeout
        )

    async def get_cluster_job(self, request: pb.GetClusterJobRequest) -> pb.ClusterJob:
        """A clustering job with one page of its result."""
        return await self._call(self._stub.GetClusterJob, request)

    async def delete_cluster_job(self, request: pb.DeleteClusterJobRequest) -> pb.DeleteResponse:
        """A clustering job with its faces and result."""
        return await self._call(self._stub.DeleteClusterJob, request)


def embedding(clients: ServiceClients) -> EmbeddingCalls:
    """The typed EmbeddingService calls (SERVICE_UNAVAILABLE when it is not deployed)."""
    return EmbeddingCalls(clients)
