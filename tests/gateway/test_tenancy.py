"""Tenant isolation: a tenant can never see, search, verify against or delete another's data."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import GatewayFactory, GatewayUnderTest
from tests.gateway.gallery_helpers import (
    API,
    astronaut_variant,
    create_group,
    enroll,
    search,
    unique,
    verify_user,
)
from tests.helpers import images
from tests.helpers.http import assert_error


@pytest.fixture
def gw(
    make_gateway: GatewayFactory, detection_address: str, embedding_address: str
) -> GatewayUnderTest:
    return make_gateway(detection=detection_address, embedding=embedding_address)


def test_other_tenant_cannot_reach_the_gallery(gw: GatewayUnderTest) -> None:
    group = unique("private")
    create_group(gw, group)
    token = enroll(gw, group, "alice", images.astronaut_jpeg()).json()["face_token"]
    other = gw.new_tenant_key(unique("tenant"))
    headers = {"x-api-key": other}

    listed = gw.client.get(f"{API}/groups", headers=headers).json()["groups"]
    assert group not in [g["group_id"] for g in listed]
    assert_error(
        gw.client.get(f"{API}/groups/{group}/users", headers=headers), 404, "GROUP_NOT_FOUND"
    )
    assert_error(
        gw.client.get(f"{API}/groups/{group}/users/alice", headers=headers), 404, "GROUP_NOT_FOUND"
    )
    assert_error(search(gw, astronaut_variant(), group, key=other), 404, "GROUP_NOT_FOUND")
    assert_error(
        verify_user(gw, astronaut_variant(), group, "alice", key=other), 404, "GROUP_NOT_FOUND"
    )
    assert_error(
        enroll(gw, group, "mallory", images.astronaut_jpeg(), key=other), 404, "GROUP_NOT_FOUND"
    )
    for path in (
        f"groups/{group}/users/alice/faces/{token}",
        f"groups/{group}/users/alice",
        f"groups/{group}",
    ):
        assert_error(gw.client.delete(f"{API}/{path}", headers=headers), 404, "GROUP_NOT_FOUND")

    # The same group id in the other tenant is a different, empty group.
    assert create_group(gw, group, key=other).status_code == 200
    assert search(gw, astronaut_variant(), group, key=other).json()["faces"][0]["matches"] == []
    assert_error(
        verify_user(gw, astronaut_variant(), group, "alice", key=other), 404, "USER_NOT_FOUND"
    )

    # Nothing of the owner's was touched.
    user = gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers).json()
    assert [f["face_token"] for f in user["faces"]] == [token]
    hits = search(gw, astronaut_variant(), group).json()["faces"][0]["matches"]
    assert [m["user_id"] for m in hits] == ["alice"]
    # And deleting the other tenant's same-named group leaves the owner's alone.
    assert gw.client.delete(f"{API}/groups/{group}", headers=headers).status_code == 200
    assert gw.client.get(f"{API}/groups/{group}/users/alice", headers=gw.headers).status_code == 200
