"""``faceflow cluster FOLDER`` as a user runs it, against the real stack (all processes).

A folder of three LFW people (../shared/data; skipped without it), seven photos each in one
sub-folder per person, plus a photo with no face and a file that is not an image, goes up in
batches of 8: the people come back as three clusters, the blank photo is listed, the broken
file is the one failure (exit status 1), and ``--json`` writes the whole result.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.clients import photos
from tests.clients.stack import Stack
from tests.clients.test_cli import faceflow
from tests.helpers import lfw

pytestmark = pytest.mark.e2e


def test_cluster_a_folder(stack: Stack, shared_data: Path, tmp_path: Path) -> None:
    album = tmp_path / "album"
    for person, path in lfw.photos(shared_data, lfw.PEOPLE[:3]):
        (album / person).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, album / person / path.name)
    photos.no_face(album / "blank.jpg")
    photos.not_an_image(album / "broken.jpg")
    report = tmp_path / "people.json"
    done = faceflow("cluster", album, "--batch", "8", "--json", report, stack=stack)
    assert done.returncode == 1, done.stderr  # one photo failed
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 people in ") and "of 23 photos" in lines[0], done.stdout
    assert "FAILED broken.jpg: INVALID_IMAGE: " in done.stdout
    assert "  no face: 1 photos" in lines
    result = json.loads(report.read_text())
    assert result["job"]["status"] == "done" and result["photos"] == 23
    assert result["faceless_photos"] == ["blank.jpg"]
    assert [f["photo"] for f in result["failures"]] == ["broken.jpg"]
    assert not result["complete"]
    people = [{face["photo"].split("/")[0] for face in c["faces"]} for c in result["clusters"]]
    assert sorted(map(sorted, people)) == [[p] for p in sorted(lfw.PEOPLE[:3])]
    every_face = sum(c["size"] for c in result["clusters"]) + len(result["unassigned"])
    assert every_face == result["job"]["face_count"]


def test_cluster_bad_far_is_a_usage_error_with_its_code(stack: Stack, tmp_path: Path) -> None:
    photos.astronaut(tmp_path / "a.jpg")
    done = faceflow("cluster", tmp_path, "--far", "0.5", stack=stack)
    assert done.returncode == 1
    assert done.stderr.startswith("error: INVALID_ARGUMENT: 'far' must be between 1e-06 and 0.01")
    missing = faceflow("cluster", tmp_path / "nope", stack=stack)
    assert missing.returncode == 2 and "is not a folder" in missing.stderr
