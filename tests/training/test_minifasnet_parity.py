"""Parity of the Keras rebuild and the served TFLite files with the upstream PyTorch network.

The reference below is the upstream MiniFASNet (minivision-ai/Silent-Face-Anti-Spoofing,
src/model_lib/MiniFASNet.py) written again in PyTorch with the same module names, so the
published state dicts load into it with ``load_state_dict(strict=True)`` via ``torch.load``.
Inputs are real face crops made exactly as upstream (2.7x / 4.0x the detected box, 80x80 BGR
0-255). Proves: max |logit difference| stays below 1e-4 for Keras and for TFLite (LiteRT), and
the fused verdict (class 1 of the mean softmax) is the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a dev-only dependency (requirements/dev.txt)")
from torch import nn  # noqa: E402

from services.shared.model_store import ModelStore  # noqa: E402
from services.shared.model_store.fetch import fetch_source  # noqa: E402
from services.shared.model_zoo.minifasnet import crop_patch  # noqa: E402
from services.shared.model_zoo.yunet import YuNetDetector  # noqa: E402
from services.shared.runtime import LiteModel  # noqa: E402
from tests.helpers import images  # noqa: E402
from training.importers.minifasnet_export import keras_model_from_pth  # noqa: E402

MAX_ABS_DIFF = 1e-4
KEEP_V1 = [
    32,
    32,
    103,
    103,
    64,
    13,
    13,
    64,
    26,
    26,
    64,
    13,
    13,
    64,
    52,
    52,
    64,
    231,
    231,
    128,
    154,
    154,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    308,
    308,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    512,
    512,
]
KEEP_V2 = [
    32,
    32,
    103,
    103,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    13,
    13,
    64,
    231,
    231,
    128,
    231,
    231,
    128,
    52,
    52,
    128,
    26,
    26,
    128,
    77,
    77,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    308,
    308,
    128,
    26,
    26,
    128,
    26,
    26,
    128,
    512,
    512,
]


class ConvBlock(nn.Module):  # type: ignore[misc]
    def __init__(
        self,
        cin: int,
        cout: int,
        k: int = 1,
        s: int = 1,
        p: int = 0,
        groups: int = 1,
        prelu: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        if prelu:
            self.prelu = nn.PReLU(cout)
        self.use_prelu = prelu

    def forward(self, x: Any) -> Any:
        x = self.bn(self.conv(x))
        return self.prelu(x) if self.use_prelu else x


class SE(nn.Module):  # type: ignore[misc]
    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // r, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c // r)
        self.fc2 = nn.Conv2d(c // r, c, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: Any) -> Any:
        s = x.mean(dim=(2, 3), keepdim=True)
        s = torch.relu(self.bn1(self.fc1(s)))
        return x * torch.sigmoid(self.bn2(self.fc2(s)))


class DepthWise(nn.Module):  # type: ignore[misc]
    def __init__(
        self, c_in: int, c_exp: int, c_out: int, stride: int, residual: bool, se: bool = False
    ) -> None:
        super().__init__()
        self.conv = ConvBlock(c_in, c_exp)
        self.conv_dw = ConvBlock(c_exp, c_exp, 3, stride, 1, groups=c_exp)
        self.project = ConvBlock(c_exp, c_out, prelu=False)
        self.residual = residual
        if se:
            self.se_module = SE(c_out)
        self.se = se

    def forward(self, x: Any) -> Any:
        y = self.project(self.conv_dw(self.conv(x)))
        if not self.residual:
            return y
        if self.se:
            y = self.se_module(y)
        return x + y


class Stage(nn.Module):  # type: ignore[misc]
    def __init__(self, keep: list[int], first: int, blocks: int, se: bool) -> None:
        super().__init__()
        self.model = nn.Sequential(
            *[
                DepthWise(
                    keep[first + 3 * i],
                    keep[first + 3 * i + 1],
                    keep[first + 3 * i + 3],
                    1,
                    True,
                    se and i == blocks - 1,
                )
                for i in range(blocks)
            ]
        )

    def forward(self, x: Any) -> Any:
        return self.model(x)


class MiniFASNet(nn.Module):  # type: ignore[misc]
    def __init__(self, keep: list[int], se: bool, kernel: int = 5) -> None:
        super().__init__()
        self.conv1 = ConvBlock(3, keep[0], 3, 2, 1)
        self.conv2_dw = ConvBlock(keep[0], keep[1], 3, 1, 1, groups=keep[1])
        self.conv_23 = DepthWise(keep[1], keep[2], keep[4], 2, False)
        self.conv_3 = Stage(keep, 4, 4, se)
        self.conv_34 = DepthWise(keep[16], keep[17], keep[19], 2, False)
        self.conv_4 = Stage(keep, 19, 6, se)
        self.conv_45 = DepthWise(keep[37], keep[38], keep[40], 2, False)
        self.conv_5 = Stage(keep, 40, 2, se)
        self.conv_6_sep = ConvBlock(keep[46], keep[47])
        self.conv_6_dw = ConvBlock(keep[47], keep[48], kernel, 1, 0, groups=keep[48], prelu=False)
        self.linear = nn.Linear(512, 128, bias=False)
        self.bn = nn.BatchNorm1d(128)
        self.prob = nn.Linear(128, 3, bias=False)

    def forward(self, x: Any) -> Any:
        for name in [
            "conv1",
            "conv2_dw",
            "conv_23",
            "conv_3",
            "conv_34",
            "conv_4",
            "conv_45",
            "conv_5",
            "conv_6_sep",
            "conv_6_dw",
        ]:
            x = getattr(self, name)(x)
        return self.prob(self.bn(self.linear(x.flatten(1))))


VARIANTS = {
    "minifasnet_v2": ("MiniFASNetV2", KEEP_V2, False, 2.7),
    "minifasnet_v1se": ("MiniFASNetV1SE", KEEP_V1, True, 4.0),
}


def torch_reference(path: Path, keep: list[int], se: bool) -> MiniFASNet:
    """The upstream network with the published weights, loaded by PyTorch itself."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    network = MiniFASNet(keep, se)
    network.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    return network.eval()


@pytest.fixture(scope="module")
def face_patches(
    model_store: ModelStore, shared_data_optional: list[np.ndarray]
) -> dict[float, np.ndarray]:
    """80x80 BGR patches of real faces at both crop scales."""
    detector = YuNetDetector.from_store(model_store, "yunet")
    photos = [images.astronaut(), *shared_data_optional]
    patches: dict[float, list[np.ndarray]] = {2.7: [], 4.0: []}
    for photo in photos:
        faces = detector.detect(photo)
        assert faces, "every parity photo has a face"
        bgr = np.ascontiguousarray(photo[:, :, ::-1])
        for scale in patches:
            patches[scale].append(crop_patch(bgr, faces[0].box, scale))
    return {scale: np.stack(p).astype(np.float32) for scale, p in patches.items()}


@pytest.fixture(scope="module")
def shared_data_optional() -> list[np.ndarray]:
    """Extra real photos from ../shared/data when present (the astronaut always runs)."""
    from PIL import Image

    from tests.conftest import SHARED_DATA

    names = [
        "photos/people/obama/obama.jpg",
        "photos/people/biden/biden.jpg",
        "liveness-samples/old_image_T1.jpg",
        "liveness-samples/old_image_F1.jpg",
        "liveness-samples/image_F2.jpg",
    ]
    found = [SHARED_DATA / n for n in names if (SHARED_DATA / n).is_file()]
    return [np.asarray(Image.open(p).convert("RGB")) for p in found]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_logits_match_pytorch(
    name: str, model_store: ModelStore, face_patches: dict[float, np.ndarray]
) -> None:
    variant, keep, se, scale = VARIANTS[name]
    source = fetch_source(model_store.spec(name).source, model_store.cache_dir.parent / "downloads")
    batch = face_patches[scale]
    with torch.no_grad():
        reference = torch_reference(source, keep, se)(
            torch.from_numpy(batch.transpose(0, 3, 1, 2).copy())
        ).numpy()
    keras_model = keras_model_from_pth(source, variant)  # type: ignore[arg-type]
    keras_logits = np.concatenate([keras_model(p[np.newaxis]).numpy() for p in batch])
    lite = LiteModel(model_store.open(name).path)
    lite_logits = np.concatenate([lite.run(image_bgr=p[np.newaxis])["logits"] for p in batch])
    keras_diff = float(np.abs(keras_logits - reference).max())
    lite_diff = float(np.abs(lite_logits - reference).max())
    print(f"{name}: {len(batch)} faces, max |diff| keras {keras_diff:.2e}, tflite {lite_diff:.2e}")
    assert keras_diff < MAX_ABS_DIFF
    assert lite_diff < MAX_ABS_DIFF
    assert (lite_logits.argmax(1) == reference.argmax(1)).all()
