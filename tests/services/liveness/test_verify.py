"""VerifySession and CreateSession over real gRPC, on real photos and bad inputs.

What the real-photo cases prove (and what they do not): LFW has several photos of one person
with the head genuinely turned left, turned right, tilted down or the mouth open. Played as a
frame sequence they exercise the whole chain - detection, the 468-point mesh, the pose and
aspect-ratio signals, the order rules, the same-person check and the passive model - on real
head poses, not on geometric warps. They are still separate photos, not a video of one
continuous movement, and no real closed-eye photo is available here, so blink is covered by
the signal-level tests in test_actions.py plus a negative case on real open-eyed photos.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from faceflow.liveness.v1 import liveness_pb2
from PIL import Image

from services.shared.errors import FaceflowError
from services.shared.model_store import ModelStore
from tests.helpers import images
from tests.services.liveness.helpers import (
    TENANT,
    LivenessUnderTest,
    error_code,
    jpeg,
    lfw_frames,
    running_liveness,
)
from tests.services.liveness.test_frames import write_video

FRIST = ["Bill_Frist_0001", "Bill_Frist_0008", "Bill_Frist_0003", "Bill_Frist_0002"]


def outcome(response: liveness_pb2.VerifySessionResponse) -> list[tuple[str, bool, int]]:
    return [
        (liveness_pb2.Action.Name(a.action).lower(), a.passed, a.frame) for a in response.actions
    ]


def decode(data: bytes) -> np.ndarray:
    """JPEG bytes -> RGB array."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)


def rpc_error(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value


# --- sessions -------------------------------------------------------------------------------


def test_create_session(liveness: LivenessUnderTest) -> None:
    before = time.time() * 1000
    session = liveness.stub.CreateSession(liveness_pb2.CreateSessionRequest(tenant_id=TENANT))
    assert 2 <= len(session.actions) <= 4
    assert len(set(session.actions)) == len(session.actions)
    assert liveness_pb2.ACTION_UNSPECIFIED not in session.actions
    assert session.expires_at_ms - session.created_at_ms == 60_000
    assert session.created_at_ms >= before - 1000
    fixed = liveness.stub.CreateSession(
        liveness_pb2.CreateSessionRequest(tenant_id=TENANT, action_count=4, ttl_seconds=30)
    )
    assert len(fixed.actions) == 4 and fixed.expires_at_ms - fixed.created_at_ms == 30_000


@pytest.mark.parametrize(
    "fields",
    [
        {"tenant_id": ""},
        {"tenant_id": TENANT, "action_count": 5},
        {"tenant_id": TENANT, "ttl_seconds": 100_000},
    ],
)
def test_create_session_bad_arguments(liveness: LivenessUnderTest, fields: dict[str, Any]) -> None:
    error = rpc_error(
        lambda: liveness.stub.CreateSession(liveness_pb2.CreateSessionRequest(**fields))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == "INVALID_ARGUMENT"


# --- real head movements ----------------------------------------------------------------------


def test_real_turns_left_then_right(liveness: LivenessUnderTest, shared_data: Path) -> None:
    """Frontal, turned to his left (yaw about +25), frontal, turned to his right (-36)."""
    session = liveness.session(["turn_left", "turn_right"])
    response = liveness.verify(session, lfw_frames(shared_data, FRIST))
    assert outcome(response) == [("turn_left", True, 1), ("turn_right", True, 3)]
    assert response.live, list(response.reasons)
    assert response.session_id == session
    assert response.frames_analysed == 4 and response.frames_with_face == 4
    assert response.score >= response.threshold
    assert [m.name for m in response.models] == [
        "yunet",
        "facemesh",
        "sface",
        "minifasnet_v2",
        "minifasnet_v1se",
    ]


def test_mirrored_turns_swap_left_and_right(liveness: LivenessUnderTest, shared_data: Path) -> None:
    """The same photos mirrored: the left turn now comes last, so left-then-right fails -
    the yaw sign (the subject's own left) is not an accident of these photos."""
    mirrored = [
        jpeg(np.ascontiguousarray(decode(f)[:, ::-1])) for f in lfw_frames(shared_data, FRIST)
    ]
    session = liveness.session(["turn_left", "turn_right"])
    response = liveness.verify(session, mirrored)
    assert outcome(response) == [("turn_left", True, 3), ("turn_right", False, -1)]
    assert list(response.reasons) == ["ACTION_NOT_SEEN: turn_right"]
    assert not response.live


def test_real_nod_and_open_mouth(liveness: LivenessUnderTest, shared_data: Path) -> None:
    """Head level, tilted down (pitch +23 degrees), level again; mouth closed, open, closed."""
    nod = liveness.verify(
        liveness.session(["nod"]),
        lfw_frames(shared_data, ["Leonid_Kuchma_0001", "Leonid_Kuchma_0006", "Leonid_Kuchma_0001"]),
    )
    assert outcome(nod) == [("nod", True, 1)] and nod.live, list(nod.reasons)
    mouth = liveness.verify(
        liveness.session(["open_mouth"]),
        lfw_frames(
            shared_data,
            ["Begum_Khaleda_Zia_0001", "Begum_Khaleda_Zia_0002", "Begum_Khaleda_Zia_0001"],
        ),
    )
    assert outcome(mouth) == [("open_mouth", True, 1)] and mouth.live, list(mouth.reasons)


def test_turns_faster_than_a_human_are_not_counted(
    liveness: LivenessUnderTest, shared_data: Path
) -> None:
    """The same real turns with capture times 20 ms apart: no head turns that fast."""
    session = liveness.session(["turn_left", "turn_right"])
    response = liveness.verify(
        session, lfw_frames(shared_data, FRIST), frame_times_ms=[0, 20, 40, 60]
    )
    assert [a.passed for a in response.actions] == [False, False]
    assert not response.live


def test_blink_is_not_seen_in_open_eyed_photos(
    liveness: LivenessUnderTest, shared_data: Path
) -> None:
    response = liveness.verify(
        liveness.session(["turn_left", "blink"]), lfw_frames(shared_data, FRIST)
    )
    assert outcome(response)[1] == ("blink", False, -1)
    assert list(response.reasons) == ["ACTION_NOT_SEEN: blink"]


def test_photo_held_up_to_the_camera_is_a_spoof(
    liveness: LivenessUnderTest, shared_data: Path
) -> None:
    """The same turning photos, each shown small with its edges visible (as a printed photo
    held in front of the camera): the actions are seen, the passive model objects."""
    session = liveness.session(["turn_left", "turn_right"])
    response = liveness.verify(session, lfw_frames(shared_data, FRIST, framed=True))
    assert [a.passed for a in response.actions] == [True, True]
    assert list(response.reasons) == ["SPOOF_SUSPECTED"]
    assert not response.live and response.score < response.threshold


def test_face_changed(liveness: LivenessUnderTest, shared_data: Path) -> None:
    """Bill Frist turns left, then Donald Rumsfeld turns right."""
    frames = lfw_frames(
        shared_data,
        ["Bill_Frist_0001", "Bill_Frist_0008", "Donald_Rumsfeld_0108", "Donald_Rumsfeld_0041"],
    )
    response = liveness.verify(liveness.session(["turn_left", "turn_right"]), frames)
    assert not response.live
    assert any(r.startswith("FACE_CHANGED: frames") for r in response.reasons), list(
        response.reasons
    )


def test_two_people_in_a_real_photo(liveness: LivenessUnderTest, shared_data: Path) -> None:
    two = (shared_data / "photos/groups/face_recognition__two_people.jpg").read_bytes()
    response = liveness.verify(liveness.session(["blink", "nod"]), [two] * 3)
    assert not response.live
    assert "MULTIPLE_FACES: frames 0, 1, 2" in response.reasons


# --- always-available photos (scikit-image astronaut) -------------------------------------------


def test_a_still_photo_performs_no_action(liveness: LivenessUnderTest) -> None:
    """Five copies of one photo: whatever the passive model thinks, no action happened."""
    response = liveness.verify(
        liveness.session(["turn_left", "blink"]), [images.astronaut_jpeg()] * 5
    )
    assert not response.live
    assert outcome(response) == [("turn_left", False, -1), ("blink", False, -1)]
    assert response.reasons[:2] == ["ACTION_NOT_SEEN: turn_left", "ACTION_NOT_SEEN: blink"]
    assert response.frames_with_face == 5


def test_frames_without_faces(liveness: LivenessUnderTest) -> None:
    response = liveness.verify(liveness.session(["blink", "nod"]), [images.no_face_jpeg()] * 4)
    assert not response.live and response.score == 0.0
    assert response.reasons[0] == "NO_FACE_IN_FRAMES: 4 of 4 frames have no face"
    assert response.frames_with_face == 0


def test_two_faces_in_every_frame(liveness: LivenessUnderTest) -> None:
    frame = jpeg(images.group_photo(2))
    response = liveness.verify(liveness.session(["blink", "nod"]), [frame] * 3)
    assert not response.live
    assert "MULTIPLE_FACES: frames 0, 1, 2" in response.reasons
    assert not any(r.startswith("NO_FACE_IN_FRAMES") for r in response.reasons)
    assert response.frames_with_face == 3  # a frame with two faces still shows a face


def test_video_input(liveness: LivenessUnderTest, tmp_path: Path) -> None:
    data = write_video(tmp_path / "still.webm", 30, "VP80", fps=15.0)  # 2 s of a still photo
    request = liveness_pb2.VerifySessionRequest(
        tenant_id=TENANT, session_id=liveness.session(["nod", "blink"]), video=data
    )
    response = liveness.stub.VerifySession(request, timeout=120)
    assert response.frames_analysed == 15  # every 2nd frame: about 10 per second
    assert not response.live and response.frames_with_face == 15
    assert "ACTION_NOT_SEEN: nod" in response.reasons


# --- bad input and replay -----------------------------------------------------------------------


def test_undecodable_video_does_not_burn_the_session(liveness: LivenessUnderTest) -> None:
    session = liveness.session(["blink", "nod"])
    request = liveness_pb2.VerifySessionRequest(
        tenant_id=TENANT, session_id=session, video=b"\x1a\x45\xdf\xa3" + b"garbage" * 100
    )
    error = rpc_error(lambda: liveness.stub.VerifySession(request, timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == "INVALID_VIDEO"
    assert liveness.verify(session, [images.astronaut_jpeg()] * 3).session_id == session


def test_video_over_the_services_byte_limit(
    liveness: LivenessUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FACEFLOW_LIVENESS_MAX_VIDEO_BYTES below the gateway's 20 MiB: VIDEO_TOO_LARGE (the
    gateway's 413), the session still unused."""
    data = write_video(tmp_path / "still.webm", 30, "VP80", fps=15.0)
    limits = replace(liveness.servicer.frame_limits, max_video_bytes=len(data) - 1)
    monkeypatch.setattr(liveness.servicer, "frame_limits", limits)
    session = liveness.session(["blink", "nod"])
    request = liveness_pb2.VerifySessionRequest(tenant_id=TENANT, session_id=session, video=data)
    error = rpc_error(lambda: liveness.stub.VerifySession(request, timeout=30))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == "VIDEO_TOO_LARGE"
    assert f"the video is {len(data)} bytes" in (error.details() or "")
    assert liveness.verify(session, [images.astronaut_jpeg()] * 3).session_id == session


class EndedCall:
    """A servicer context whose RPC is over: cancelled, or past its deadline."""

    def __init__(self, remaining_s: float) -> None:
        self.remaining_s = remaining_s

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return self.remaining_s


@pytest.mark.parametrize(
    ("remaining_s", "status"),
    [(5.0, grpc.StatusCode.CANCELLED), (0.0, grpc.StatusCode.DEADLINE_EXCEEDED)],
)
def test_a_call_that_is_over_stops_decoding_and_keeps_the_session(
    liveness: LivenessUnderTest, tmp_path: Path, remaining_s: float, status: grpc.StatusCode
) -> None:
    data = write_video(tmp_path / "still.webm", 30, "VP80", fps=15.0)
    session = liveness.session(["blink", "nod"])
    request = liveness_pb2.VerifySessionRequest(tenant_id=TENANT, session_id=session, video=data)
    with pytest.raises(FaceflowError) as caught:
        liveness.servicer.VerifySession(request, EndedCall(remaining_s))
    assert caught.value.status == status
    assert caught.value.code == status.name
    # no verdict was given and the session was not claimed
    assert liveness.verify(session, [images.astronaut_jpeg()] * 3).session_id == session


def test_500_frames(liveness: LivenessUnderTest) -> None:
    tiny = jpeg(np.full((32, 32, 3), 120, np.uint8))
    error = rpc_error(lambda: liveness.verify(liveness.session(["blink", "nod"]), [tiny] * 500))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_code(error) == "INVALID_ARGUMENT"
    assert "500 frames; the limit is 100" in (error.details() or "")


def test_frames_and_video_together(liveness: LivenessUnderTest) -> None:
    error = rpc_error(
        lambda: liveness.verify(
            liveness.session(["blink", "nod"]), [images.astronaut_jpeg()] * 3, video=b"x"
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_reused_session(liveness: LivenessUnderTest) -> None:
    session = liveness.session(["blink", "nod"])
    liveness.verify(session, [images.astronaut_jpeg()] * 3)
    error = rpc_error(lambda: liveness.verify(session, [images.astronaut_jpeg()] * 3))
    assert error.code() == grpc.StatusCode.ABORTED
    assert error_code(error) == "SESSION_ALREADY_USED"


def test_expired_session(liveness: LivenessUnderTest) -> None:
    record = liveness.servicer.sessions.create(TENANT, ["blink", "nod"], 60, now=time.time() - 61)
    error = rpc_error(lambda: liveness.verify(record.session_id, [images.astronaut_jpeg()] * 3))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_code(error) == "SESSION_EXPIRED"


def test_recording_longer_than_the_window(liveness: LivenessUnderTest) -> None:
    session = liveness.session(["blink", "nod"], ttl=60)
    too_long: list[dict[str, Any]] = [
        {"frame_times_ms": [0, 30_000, 61_000]},
        {"frame_interval_ms": 40_000},  # 3 frames 40 s apart: 80 s
    ]
    for fields in too_long:
        error = rpc_error(
            lambda fields=fields: liveness.verify(  # type: ignore[misc]
                session, [images.astronaut_jpeg()] * 3, **fields
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_code(error) == "INVALID_ARGUMENT"
        assert "longer than the session window" in (error.details() or "")
    # Refused before the session was used: the corrected recording is still verified.
    response = liveness.verify(
        session, [images.astronaut_jpeg()] * 3, frame_times_ms=[0, 30_000, 60_000]
    )
    assert response.session_id == session
    error = rpc_error(lambda: liveness.verify(session, [images.astronaut_jpeg()] * 3))
    assert error_code(error) == "SESSION_ALREADY_USED"


def test_other_tenants_session(liveness: LivenessUnderTest) -> None:
    session = liveness.session(["blink", "nod"], tenant="tenant-b")
    error = rpc_error(lambda: liveness.verify(session, [images.astronaut_jpeg()] * 3))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(error) == "SESSION_NOT_FOUND"


def test_session_survives_a_service_restart(model_store: ModelStore, tmp_path: Path) -> None:
    with running_liveness(model_store, tmp_path) as first:
        session = first.stub.CreateSession(
            liveness_pb2.CreateSessionRequest(tenant_id=TENANT)
        ).session_id
    with running_liveness(model_store, tmp_path) as second:
        response = second.verify(session, [images.astronaut_jpeg()] * 3)
        assert response.session_id == session
        error = rpc_error(lambda: second.verify(session, [images.astronaut_jpeg()] * 3))
        assert error_code(error) == "SESSION_ALREADY_USED"
