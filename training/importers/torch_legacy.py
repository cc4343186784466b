"""Read PyTorch's legacy (pre-1.6, non-zip) ``.pth`` files without PyTorch.

The legacy format is a sequence of pickles followed by raw storage bytes:

1. the magic number ``0x1950a86a20f9469cfc6c``, 2. the protocol version ``1001``,
3. a ``sys_info`` dict (endianness, type sizes), 4. the object itself (here a state dict) in
which every tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``
and every storage is a *persistent id* ``("storage", <StorageType>, key, location, numel,
view_metadata)``, 5. the list of storage keys in file order, then for each key an int64
element count followed by that many little-endian elements.

The unpickler here is restricted: it resolves only the handful of globals that format uses
(``collections.OrderedDict``, the tensor rebuild function, the typed storage classes) and
refuses everything else, so a malicious file cannot run code. Tensors come back as numpy
arrays (copies, C-contiguous) in the state dict's key order.
"""

from __future__ import annotations

import collections
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

STORAGE_DTYPES: dict[str, np.dtype[Any]] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class LegacyCheckpointError(ValueError):
    """The file is not a legacy PyTorch checkpoint this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: only its element type matters."""

    name: str
    dtype: np.dtype[Any]


@dataclass
class _StorageRef:
    """A storage named in the pickle; its bytes are read after the pickles."""

    key: str
    dtype: np.dtype[Any]
    numel: int
    view: tuple[str, int, int] | None


@dataclass
class _PendingTensor:
    """A tensor whose storage has not been read yet."""

    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(
    storage: _StorageRef,
    storage_offset: int,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    _requires_grad: bool = False,
    _backward_hooks: object = None,
    *_metadata: object,
) -> _PendingTensor:
    return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(
    data: _PendingTensor, _requires_grad: bool, _hooks: object
) -> _PendingTensor:
    return data


_ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the globals of the legacy format; storages come via persistent_load."""

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__(handle)
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name, STORAGE_DTYPES[name])
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise LegacyCheckpointError(f"refusing to load global {module}.{name}")
        return allowed

    def persistent_load(self, pid: Any) -> _StorageRef:
        if not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != "storage":
            raise LegacyCheckpointError(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view_metadata = pid
        if not isinstance(storage_type, _StorageType):
            raise LegacyCheckpointError(f"unsupported storage type {storage_type!r:.80}")
        key = str(key)
        if key not in self.storages:
            self.storages[key] = _StorageRef(key, storage_type.dtype, int(numel), None)
        root = self.storages[key]
        if view_metadata is None:
            return root
        view_key, view_offset, view_size = view_metadata
        return _StorageRef(
            key, root.dtype, int(view_size), (str(view_key), int(view_offset), int(view_size))
        )


def _load_plain(handle: IO[bytes]) -> Any:
    """One of the header pickles: plain ints and dicts only."""
    return _RestrictedUnpickler(handle).load()


def _read_storages(
    handle: IO[bytes], keys: list[str], refs: dict[str, _StorageRef]
) -> dict[str, NDArray[Any]]:
    arrays: dict[str, NDArray[Any]] = {}
    for key in keys:
        if key not in refs:
            raise LegacyCheckpointError(f"storage {key} is listed but never referenced")
        ref = refs[key]
        header = handle.read(8)
        if len(header) != 8:
            raise LegacyCheckpointError(f"truncated file: no size for storage {key}")
        (numel,) = struct.unpack("<q", header)
        if numel != ref.numel:
            raise LegacyCheckpointError(
                f"storage {key}: {numel} elements on disk, {ref.numel} in the pickle"
            )
        nbytes = numel * ref.dtype.itemsize
        data = handle.read(nbytes)
        if len(data) != nbytes:
            raise LegacyCheckpointError(f"truncated file: storage {key} is short")
        arrays[key] = np.frombuffer(data, dtype=ref.dtype)
    return arrays


def _materialise(tensor: _PendingTensor, arrays: dict[str, NDArray[Any]]) -> NDArray[Any]:
    storage = tensor.storage
    flat = arrays[storage.key]
    if storage.view is not None:
        _, view_offset, view_size = storage.view
        flat = flat[view_offset : view_offset + view_size]
    itemsize = flat.dtype.itemsize
    if tensor.size:
        last = tensor.offset + sum(
            (n - 1) * s for n, s in zip(tensor.size, tensor.stride, strict=True)
        )
        if min(tensor.size) > 0 and (last >= flat.size or tensor.offset < 0):
            raise LegacyCheckpointError("a tensor reaches outside its storage")
    view = np.lib.stride_tricks.as_strided(
        flat[tensor.offset :],
        shape=tensor.size,
        strides=tuple(s * itemsize for s in tensor.stride),
        writeable=False,
    )
    return np.array(view, copy=True, order="C")


def _resolve(value: Any, arrays: dict[str, NDArray[Any]]) -> Any:
    if isinstance(value, _PendingTensor):
        return _materialise(value, arrays)
    if isinstance(value, dict):
        resolved = type(value)() if isinstance(value, collections.OrderedDict) else {}
        for key, item in value.items():
            resolved[key] = _resolve(item, arrays)
        return resolved
    if isinstance(value, list | tuple):
        return type(value)(_resolve(item, arrays) for item in value)
    return value


def load_legacy_checkpoint(path: Path) -> Any:
    """Load a legacy ``.pth`` file; tensors become numpy arrays. Raises LegacyCheckpointError."""
    with path.open("rb") as handle:
        try:
            magic = _load_plain(handle)
            if magic != LEGACY_MAGIC:
                raise LegacyCheckpointError(
                    f"{path.name} is not a legacy PyTorch file (zip-format files are not supported)"
                )
            protocol = _load_plain(handle)
            if protocol != LEGACY_PROTOCOL:
                raise LegacyCheckpointError(f"{path.name}: unsupported protocol {protocol!r}")
            sys_info = _load_plain(handle)
            if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
                raise LegacyCheckpointError(f"{path.name}: only little-endian files are supported")
            unpickler = _RestrictedUnpickler(handle)
            result = unpickler.load()
            keys = _load_plain(handle)
        except (pickle.UnpicklingError, EOFError, struct.error) as error:
            raise LegacyCheckpointError(
                f"{path.name}: not a readable legacy checkpoint ({error})"
            ) from error
        if not isinstance(keys, list):
            raise LegacyCheckpointError(f"{path.name}: storage key list missing")
        arrays = _read_storages(handle, [str(k) for k in keys], unpickler.storages)
    return _resolve(result, arrays)


def load_state_dict(path: Path, strip_prefix: str = "module.") -> dict[str, NDArray[Any]]:
    """A legacy state dict as ``{name: array}``, with a DataParallel ``module.`` prefix removed."""
    loaded = load_legacy_checkpoint(path)
    if not isinstance(loaded, dict):
        raise LegacyCheckpointError(
            f"{path.name} holds a {type(loaded).__name__}, not a state dict"
        )
    state: dict[str, NDArray[Any]] = {}
    for key, value in loaded.items():
        if not isinstance(value, np.ndarray):
            raise LegacyCheckpointError(f"{path.name}: entry {key!r} is not a tensor")
        name = str(key)
        if strip_prefix and name.startswith(strip_prefix):
            name = name[len(strip_prefix) :]
        state[name] = value
    return state
