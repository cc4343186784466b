"""A deleted tenant's gallery goes with it: ``python -m gateway.tenants delete`` calls this.

The gallery lives in the embedding service, scoped by tenant id; a tenant deleted only from the
gateway's database would leave its groups, users, faces, stored images and thumbnails behind,
and a tenant created later with the same id would see them. So the command revokes the keys,
deletes every group of the tenant through the service (``DeleteGroup`` with ``retry`` set: a
group already gone is success, so a second run after a failure finishes the job), then the
tenant. The tenant's clustering jobs (faces copied from the gallery or uploaded, with their
embeddings) are deleted the same way (``DeleteTenantClusterJobs``), so a tenant re-created
with the same id finds none of them, nor has them counted against its job limit; the
gateway's own video jobs and streams are deleted by the command from the gateway's database.
"""

from __future__ import annotations

import grpc
from faceflow.embedding.v1 import embedding_pb2 as pb
from faceflow.embedding.v1 import embedding_pb2_grpc


class GalleryUnreachableError(Exception):
    """The embedding service did not answer (or refused) a call deleting the gallery."""


def delete_tenant_gallery(address: str, tenant: str, deadline_seconds: float) -> int:
    """Delete every group of ``tenant`` with its users and faces, then its clustering jobs;
    returns how many groups."""
    try:
        with grpc.insecure_channel(address) as channel:
            stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
            listed = stub.ListGroups(pb.ListGroupsRequest(tenant=tenant), timeout=deadline_seconds)
            for group in listed.groups:
                request = pb.DeleteGroupRequest(tenant=tenant, group_id=group.group_id, retry=True)
                stub.DeleteGroup(request, timeout=deadline_seconds)
            stub.DeleteTenantClusterJobs(
                pb.DeleteTenantClusterJobsRequest(tenant=tenant), timeout=deadline_seconds
            )
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
        if code == "UNIMPLEMENTED":  # its groups may be gone already; its jobs are not
            raise GalleryUnreachableError(
                f"the embedding service at {address} is older than this gateway (it cannot "
                "delete a tenant's clustering jobs): upgrade it first"
            ) from error
        raise GalleryUnreachableError(f"the embedding service at {address}: {code}") from error
    return len(listed.groups)
