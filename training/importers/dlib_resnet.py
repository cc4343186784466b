"""Read dlib's serialized ResNet face descriptor (``dlib_face_recognition_resnet_model_v1.dat``)
without dlib.

The network (dlib/examples/dnn_face_recognition_ex.cpp) is::

    loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

    block<N,stride>  = affine<con<N,3,3,1,1, relu<affine<con<N,3,3,stride,stride, SUB>>>>>
    ares<N>          = relu<add_prev1<block<N,1, tag1<SUB>>>>
    ares_down<N>     = relu<add_prev2<avg_pool<2,2,2,2, skip1<tag2<block<N,2, tag1<SUB>>>>>>>
    alevel0 = ares_down<256>            alevel1 = ares<256,ares<256,ares_down<256>>>
    alevel2 = ares<128,ares<128,ares_down<128>>>
    alevel3 = ares<64,ares<64,ares<64,ares_down<64>>>>    alevel4 = ares<32,ares<32,ares<32>>>

:func:`architecture` writes that definition out as a flat bottom-up list of :class:`Op`; the
reader checks the file against it and attaches the parameters, and the Keras builder
(training/models/dlib_resnet.py) interprets the same list, so the template lives in one place.

File format (dlib/serialize.h, dlib/dnn/core.h, dlib/dnn/layers.h, dlib/dnn/tensor.h):

- integers: one control byte (bit 0x80 = negative, low nibble = byte count), then the absolute
  value's bytes little-endian; zero is ``01 00``.
- floats/doubles: ``float_details``, i.e. an int64 mantissa then an int16 exponent, value =
  mantissa * 2**exponent (exponents 32000/32001/32002 mean +inf/-inf/NaN).
- bool: the ASCII byte ``'1'`` or ``'0'``; string: an integer length then the bytes.
- tensor: version (2: raw little-endian float32 data; 1: each value as a dlib float), then
  num_samples, k, nr, nc and the values in that (NCHW) order; alias_tensor: version 1 and the
  four dimensions.
- the net is nested: ``add_loss_layer`` writes its version, the loss, then its subnetwork; each
  ``add_layer`` writes its version and *then its subnetwork*, so every version number comes
  first (top-down) and the layer data follows bottom-up: the input layer, then for each
  computational layer its details (led by a name string such as ``"con_4"``) and its state
  (three bools and two or three tensors, empty in a saved net). ``tag``/``skip`` layers write
  only their version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

INPUT_SIZE = 150
EMBEDDING_SIZE = 128

OpKind = Literal[
    "con", "affine", "relu", "max_pool", "avg_pool", "tag", "skip", "add_prev", "fc_no_bias"
]
COMPUTATIONAL: frozenset[str] = frozenset(
    {"con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc_no_bias"}
)

_FLOAT_INF, _FLOAT_NINF, _FLOAT_NAN = 32000, 32001, 32002
_CONV_MODE = 0  # dlib's layer_mode enum: CONV_MODE = 0, FC_MODE = 1
_FC_NO_BIAS = 1  # dlib's fc_bias_mode enum: FC_HAS_BIAS = 0, FC_NO_BIAS = 1


class DlibFormatError(ValueError):
    """The file is not the dlib ResNet face descriptor this reader understands."""


@dataclass(frozen=True)
class Op:
    """One layer of the template, bottom-up; ``tag`` is the tag id for tag/skip/add_prev.

    For con: ``filters``, ``kernel``, ``stride``; for pools: ``kernel`` and ``stride``
    (kernel 0 = the whole input, dlib's avg_pool_everything); for fc_no_bias: ``filters`` is
    the number of outputs.
    """

    kind: OpKind
    filters: int = 0
    kernel: int = 0
    stride: int = 1
    tag: int = 0


@dataclass(frozen=True)
class Layer:
    """A layer read from the file: the template op and its parameters.

    con: ``weights`` (out, in, rows, cols) as dlib stores them, ``bias`` (out,), ``padding``
    (rows, cols); affine: ``weights`` = gamma (k,), ``bias`` = beta (k,); fc_no_bias:
    ``weights`` (inputs, outputs); pools: ``padding``.
    """

    op: Op
    weights: NDArray[np.float32] | None = None
    bias: NDArray[np.float32] | None = None
    padding: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class DlibResNet:
    """The parsed network: input pre-processing, layers bottom-up (tags included), loss."""

    mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[Layer] = field(default_factory=list)
    loss_margin: float = 0.0
    loss_distance_threshold: float = 0.0

    def parameters(self) -> int:
        """Number of learned values (for a sanity line in logs and tests)."""
        return sum(
            (0 if layer.weights is None else layer.weights.size)
            + (0 if layer.bias is None else layer.bias.size)
            for layer in self.layers
        )


def _block(filters: int, stride: int) -> list[Op]:
    return [
        Op("con", filters, 3, stride),
        Op("affine"),
        Op("relu"),
        Op("con", filters, 3, 1),
        Op("affine"),
    ]


def _ares(filters: int) -> list[Op]:
    return [Op("tag", tag=1), *_block(filters, 1), Op("add_prev", tag=1), Op("relu")]


def _ares_down(filters: int) -> list[Op]:
    return [
        Op("tag", tag=1),
        *_block(filters, 2),
        Op("tag", tag=2),
        Op("skip", tag=1),
        Op("avg_pool", kernel=2, stride=2),
        Op("add_prev", tag=2),
        Op("relu"),
    ]


def architecture() -> list[Op]:
    """dlib_face_recognition_resnet_model_v1's template as a flat bottom-up list of ops."""
    ops = [Op("con", 32, 7, 2), Op("affine"), Op("relu"), Op("max_pool", kernel=3, stride=2)]
    for filters, downsample, plain in ((32, False, 3), (64, True, 3), (128, True, 2)):
        ops += _ares_down(filters) if downsample else []
        for _ in range(plain):
            ops += _ares(filters)
    ops += _ares_down(256) + _ares(256) + _ares(256)  # alevel1
    ops += _ares_down(256)  # alevel0
    ops += [Op("avg_pool", kernel=0, stride=1), Op("fc_no_bias", EMBEDDING_SIZE)]
    return ops


class DlibStream:
    """Sequential reader over the file's bytes; every error names the offset and the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def fail(self, message: str) -> DlibFormatError:
        return DlibFormatError(f"offset {self.offset}: {message}")

    def take(self, count: int, what: str) -> bytes:
        end = self.offset + count
        if count < 0 or end > len(self.data):
            raise self.fail(f"file ends while reading {what} ({count} bytes)")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def integer(self, what: str, max_bytes: int = 8) -> int:
        control = self.take(1, what)[0]
        size = control & 0x0F
        if control & 0x70 or size > max_bytes:
            raise self.fail(f"bad integer control byte 0x{control:02x} for {what}")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if control & 0x80 else value

    def count(self, what: str) -> int:
        value = self.integer(what)
        if value < 0:
            raise self.fail(f"{what} is negative ({value})")
        return value

    def real(self, what: str) -> float:
        mantissa = self.integer(f"{what} (mantissa)", 8)
        exponent = self.integer(f"{what} (exponent)", 2)
        if exponent == _FLOAT_INF:
            return math.inf
        if exponent == _FLOAT_NINF:
            return -math.inf
        if exponent == _FLOAT_NAN:
            return math.nan
        return math.ldexp(float(mantissa), exponent)

    def boolean(self, what: str) -> bool:
        byte = self.take(1, what)
        if byte not in (b"0", b"1"):
            raise self.fail(f"{what}: expected a bool ('0' or '1'), found {byte!r}")
        return byte == b"1"

    def string(self, what: str, max_length: int = 256) -> str:
        length = self.count(f"{what} (length)")
        if length > max_length:
            raise self.fail(f"{what}: string length {length} is implausible")
        raw = self.take(length, what)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as error:
            raise self.fail(f"{what}: not an ASCII name ({raw[:20]!r})") from error

    def peek_name(self) -> str | None:
        """The string at the current offset if it looks like a layer name, without moving."""
        start = self.offset
        try:
            name = self.string("name", 64)
        except DlibFormatError:
            return None
        finally:
            self.offset = start
        return name if name and name[0].isalpha() and name.isprintable() else None

    def tensor(self, what: str) -> NDArray[np.float32]:
        version = self.integer(f"{what} (version)")
        shape = tuple(self.count(f"{what} ({dim})") for dim in ("num_samples", "k", "nr", "nc"))
        size = math.prod(shape)
        if version == 2:
            raw = self.take(4 * size, f"{what} (float32 data)")
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif version == 1:
            values = np.array([self.real(what) for _ in range(size)], dtype=np.float32)
        else:
            raise self.fail(f"{what}: unknown tensor version {version}")
        return values.reshape(shape)

    def alias(self, what: str) -> tuple[int, int, int, int]:
        version = self.integer(f"{what} (version)")
        if version != 1:
            raise self.fail(f"{what}: unknown alias_tensor version {version}")
        n, k, nr, nc = (self.count(f"{what} ({dim})") for dim in ("num_samples", "k", "nr", "nc"))
        return n, k, nr, nc

    def expect(self, actual: object, expected: object, what: str) -> None:
        if actual != expected:
            raise self.fail(f"{what}: expected {expected!r}, found {actual!r}")


def _read_multipliers(stream: DlibStream, what: str, count: int) -> None:
    """Learning-rate / weight-decay multipliers (training-only doubles): read and dropped."""
    for index in range(count):
        stream.real(f"{what} multiplier {index}")


def _read_con(stream: DlibStream, name: str, op: Op) -> Layer:
    stream.expect(name, "con_4", "con layer version")
    params = stream.tensor("con params").reshape(-1)
    filters = stream.count("con num_filters")
    rows, cols = stream.count("con nr"), stream.count("con nc")
    stride = (stream.count("con stride_y"), stream.count("con stride_x"))
    padding = (stream.count("con padding_y"), stream.count("con padding_x"))
    filter_shape = stream.alias("con filters")
    bias_shape = stream.alias("con biases")
    _read_multipliers(stream, "con", 4)
    expected = (op.filters, op.kernel, op.kernel, (op.stride, op.stride))
    stream.expect((filters, rows, cols, stride), expected, "con (num_filters, nr, nc, stride)")
    # dlib's con_ default padding: 0 for a strided convolution, else half the filter size.
    default = tuple(0 if s != 1 else k // 2 for s, k in zip(stride, (rows, cols), strict=True))
    stream.expect(padding, default, "con padding")
    stream.expect(filter_shape[0], filters, "con filters alias num_samples")
    stream.expect(filter_shape[2:], (rows, cols), "con filters alias (nr, nc)")
    stream.expect(bias_shape, (1, filters, 1, 1), "con biases alias")
    weight_count = math.prod(filter_shape)
    stream.expect(params.size, weight_count + filters, "con params size")
    weights = params[:weight_count].reshape(filter_shape)
    return Layer(op, weights=weights, bias=params[weight_count:].copy(), padding=padding)


def _read_affine(stream: DlibStream, name: str, op: Op) -> Layer:
    stream.expect(name, "affine_", "affine layer version")
    params = stream.tensor("affine params").reshape(-1)
    gamma_shape = stream.alias("affine gamma")
    beta_shape = stream.alias("affine beta")
    mode = stream.integer("affine mode")
    stream.expect(mode, _CONV_MODE, "affine mode (CONV_MODE)")
    stream.expect(gamma_shape, beta_shape, "affine beta alias")
    channels = gamma_shape[1]
    stream.expect(gamma_shape, (1, channels, 1, 1), "affine gamma alias")
    stream.expect(params.size, 2 * channels, "affine params size")
    return Layer(op, weights=params[:channels].copy(), bias=params[channels:].copy())


def _read_pool(stream: DlibStream, name: str, op: Op) -> Layer:
    version = "max_pool_2" if op.kind == "max_pool" else "avg_pool_2"
    stream.expect(name, version, f"{op.kind} layer version")
    rows, cols = stream.count(f"{name} nr"), stream.count(f"{name} nc")
    stride = (stream.count(f"{name} stride_y"), stream.count(f"{name} stride_x"))
    padding = (stream.count(f"{name} padding_y"), stream.count(f"{name} padding_x"))
    expected = (op.kernel, op.kernel, (op.stride, op.stride))
    stream.expect((rows, cols, stride), expected, f"{name} (nr, nc, stride)")
    default = tuple(0 if s != 1 else k // 2 for s, k in zip(stride, (rows, cols), strict=True))
    stream.expect(padding, default, f"{name} padding")
    return Layer(op, padding=padding)


def _read_fc(stream: DlibStream, name: str, op: Op) -> Layer:
    stream.expect(name, "fc_2", "fc layer version")
    outputs, inputs = stream.count("fc num_outputs"), stream.count("fc num_inputs")
    params = stream.tensor("fc params").reshape(-1)
    weight_shape = stream.alias("fc weights")
    stream.alias("fc biases")
    bias_mode = stream.integer("fc bias_mode")
    _read_multipliers(stream, "fc", 4)
    stream.expect(outputs, op.filters, "fc num_outputs")
    stream.expect(bias_mode, _FC_NO_BIAS, "fc bias_mode (FC_NO_BIAS)")
    stream.expect(weight_shape, (inputs, outputs, 1, 1), "fc weights alias")
    stream.expect(params.size, inputs * outputs, "fc params size")
    return Layer(op, weights=params.reshape(inputs, outputs))


def _read_details(stream: DlibStream, op: Op) -> Layer:
    name = stream.string(f"{op.kind} layer name")
    if op.kind == "con":
        return _read_con(stream, name, op)
    if op.kind == "affine":
        return _read_affine(stream, name, op)
    if op.kind in ("max_pool", "avg_pool"):
        return _read_pool(stream, name, op)
    if op.kind == "fc_no_bias":
        return _read_fc(stream, name, op)
    stream.expect(name, f"{op.kind}_", f"{op.kind} layer name")
    return Layer(op)


def _read_layer_state(stream: DlibStream, version: int, bottom: bool) -> None:
    """add_layer's state after the details: bools and tensors that a saved net leaves empty."""
    for what in ("this_layer_setup_called", "gradient_input_is_stale", "output_disabled"):
        stream.boolean(what)
    tensors = ["x_grad", "cached_output", "grad_final" if bottom else "params_grad"]
    if not bottom and version == 1:
        tensors.pop()
    for what in tensors:
        stream.tensor(what)
    if bottom and version >= 3:
        stream.count("sample_expansion_factor")


def _read_input(stream: DlibStream) -> tuple[tuple[float, float, float], tuple[int, int]]:
    name = stream.string("input layer name")
    stream.expect(name, "input_rgb_image_sized", "input layer")
    mean = (stream.real("avg_red"), stream.real("avg_green"), stream.real("avg_blue"))
    size = (stream.count("input nr"), stream.count("input nc"))
    stream.expect(size, (INPUT_SIZE, INPUT_SIZE), "input size")
    return mean, size


def _read_versions(stream: DlibStream, ops: list[Op]) -> list[int]:
    """The version numbers, top-down, one per layer; checked against the template."""
    versions = []
    for position, op in enumerate(reversed(ops)):
        version = stream.integer(f"version of {op.kind} (layer {len(ops) - 1 - position})")
        bottom = position == len(ops) - 1
        allowed = (1,) if op.kind in ("tag", "skip") else (2, 3) if bottom else (1, 2)
        if version not in allowed:
            raise stream.fail(f"{op.kind} layer: version {version} not in {allowed}")
        versions.append(version)
    if stream.peek_name() != "input_rgb_image_sized":
        raise stream.fail("expected the input layer after the layer versions")
    return versions[::-1]


def parse(data: bytes) -> DlibResNet:
    """Parse the bytes of ``dlib_face_recognition_resnet_model_v1.dat``."""
    stream = DlibStream(data)
    stream.expect(stream.integer("loss version"), 1, "add_loss_layer version")
    stream.expect(stream.string("loss name"), "loss_metric_2", "loss layer")
    margin = stream.real("loss margin")
    distance_threshold = stream.real("loss distance threshold")
    ops = architecture()
    versions = _read_versions(stream, ops)
    mean, size = _read_input(stream)
    layers: list[Layer] = []
    for index, (op, version) in enumerate(zip(ops, versions, strict=True)):
        if op.kind not in COMPUTATIONAL:
            layers.append(Layer(op))
            continue
        layers.append(_read_details(stream, op))
        _read_layer_state(stream, version, bottom=index == 0)
    if stream.offset != len(data):
        raise stream.fail(f"{len(data) - stream.offset} unexpected bytes after the network")
    return DlibResNet(
        mean_rgb=mean,
        input_size=size,
        layers=layers,
        loss_margin=margin,
        loss_distance_threshold=distance_threshold,
    )


def load(path: Path) -> DlibResNet:
    """Parse the model file at path."""
    return parse(path.read_bytes())
