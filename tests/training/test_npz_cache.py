"""The training caches (.npz of cut inputs): atomic writes, one clear error for a bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data.emotion_chips import EmotionChips, load_emotion_chips, save_emotion_chips
from training.data.npz_cache import read_npz, write_npz
from training.errors import DatasetLayoutError


def _chips(count: int = 3) -> EmotionChips:
    return EmotionChips(
        names=np.asarray([f"{i}.jpg" for i in range(count)]),
        labels=np.arange(count, dtype=np.int64),
        chips=np.zeros((count, 64, 64), np.uint8),
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    return read_npz(path, "test cache", "the writer", ("a", "b"), ("a", "b"))


def test_round_trip_and_no_partial_file_left(tmp_path: Path) -> None:
    cache = tmp_path / "deep" / "chips.npz"
    save_emotion_chips(_chips(), cache)
    assert sorted(p.name for p in cache.parent.iterdir()) == ["chips.npz"]
    again = load_emotion_chips(cache)
    assert list(again.names) == ["0.jpg", "1.jpg", "2.jpg"] and again.chips.shape == (3, 64, 64)


def test_a_failed_write_keeps_the_old_cache(tmp_path: Path) -> None:
    cache = tmp_path / "chips.npz"
    save_emotion_chips(_chips(2), cache)

    class Unsaveable:
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
            raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_npz(cache, {"names": np.asarray(["x"]), "chips": Unsaveable()})  # type: ignore[dict-item]
    assert len(load_emotion_chips(cache)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chips.npz"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "is not a readable test cache"),
        (b"not a zip file at all", "is not a readable test cache"),
        (b"PK\x03\x04truncated", "is not a readable test cache"),
    ],
)
def test_unreadable_files_are_one_error(content: bytes, said: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache.npz"
    cache.write_bytes(content)
    with pytest.raises(DatasetLayoutError, match=said):
        _read(cache)


def test_truncated_cache_is_one_error(tmp_path: Path) -> None:
    cache = tmp_path / "cache.npz"
    write_npz(cache, {"a": np.zeros((100, 8)), "b": np.zeros(100)})
    cache.write_bytes(cache.read_bytes()[:900])
    with pytest.raises(DatasetLayoutError, match="write it again with the writer"):
        _read(cache)


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache.npz"
    np.savez(cache, a=np.asarray([{"x": 1}], dtype=object), b=np.zeros(1))
    with pytest.raises(DatasetLayoutError, match="is not a readable test cache"):
        _read(cache)


def test_missing_arrays_and_disagreeing_lengths(tmp_path: Path) -> None:
    cache = tmp_path / "cache.npz"
    np.savez(cache, a=np.zeros(3))
    with pytest.raises(DatasetLayoutError, match=r"is not a test cache \(no b\)"):
        _read(cache)
    np.savez(cache, a=np.zeros(3), b=np.zeros(2))
    with pytest.raises(DatasetLayoutError, match=r"disagree in length \(a 3, b 2\)"):
        _read(cache)
    np.savez(cache, a=np.zeros(3), b=np.float32(1))
    with pytest.raises(DatasetLayoutError, match="disagree in length"):
        _read(cache)
    with pytest.raises(DatasetLayoutError, match=r"does not exist \(the writer\)"):
        _read(tmp_path / "absent.npz")


def test_emotion_cache_content_is_checked(tmp_path: Path) -> None:
    cache = tmp_path / "chips.npz"
    np.savez(
        cache,
        names=np.asarray(["a"]),
        labels=np.asarray([9]),
        chips=np.zeros((1, 64, 64), np.uint8),
    )
    with pytest.raises(DatasetLayoutError, match=r"labels outside 0\.\.6"):
        load_emotion_chips(cache)
    np.savez(
        cache, names=np.asarray(["a"]), labels=np.asarray([1]), chips=np.zeros((1, 64), np.uint8)
    )
    with pytest.raises(DatasetLayoutError, match=r"not uint8 \(faces, side, side\)"):
        load_emotion_chips(cache)
