"""A deleted tenant's gallery goes with it: ``python -m gateway.tenants delete`` calls this.

The gallery lives in the embedding service, scoped by tenant id; a tenant deleted only from the
gateway's database would leave its groups, users, faces, stored images and thumbnails behind,
and a tenant created later with the same id would see them. So the command revokes the keys,
deletes every group of the tenant through the service (``DeleteGroup`` with ``retry`` set: a
group already gone is success, so a second run after a failure finishes the job), then the
tenant. Clustering jobs and video jobs are not gallery data: they expire with their TTLs (a
tenant re-created within 7 days finds its predecessor's clustering jobs counted against its
limit; there is no RPC yet that lists or deletes a tenant's jobs).
"""

from __future__ import annotations

import grpc
from faceflow.embedding.v1 import embedding_pb2 as pb
from faceflow.embedding.v1 import embedding_pb2_grpc


class GalleryUnreachableError(Exception):
    """The embedding service did not answer (or refused) a call deleting the gallery."""


def delete_tenant_gallery(address: str, tenant: str, deadline_seconds: float) -> int:
    """Delete every group of ``tenant`` with its users and faces; returns how many groups."""
    try:
        with grpc.insecure_channel(address) as channel:
            stub = embedding_pb2_grpc.EmbeddingServiceStub(channel)
            listed = stub.ListGroups(pb.ListGroupsRequest(tenant=tenant), timeout=deadline_seconds)
            for group in listed.groups:
                request = pb.DeleteGroupRequest(tenant=tenant, group_id=group.group_id, retry=True)
                stub.DeleteGroup(request, timeout=deadline_seconds)
    except grpc.RpcError as error:
        code = error.code().name if isinstance(error, grpc.Call) else "UNKNOWN"
        raise GalleryUnreachableError(f"the embedding service at {address}: {code}") from error
    return len(listed.groups)
