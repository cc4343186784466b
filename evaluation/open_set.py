"""Open-set 1:N search through HTTP: are enrolled people found, are strangers kept out?

Galleries of 100 / 1,000 / 10,000 / 20,000 faces are built in one group by enrolling through
``POST /groups/{g}/users/{u}/faces``: first one photo of each lfw-devtest person who has two or
more (361 people), then UTKFace chips (``../shared/data/train/utkface-22k``, each its own person)
as distractors up to the size. At each size every probe is sent to ``POST /search``
(``top_k=1``, the largest face):

- mated probes: the second photo of each enrolled LFW person; a hit is the right user at rank 1
  above the threshold (the detection-and-identification rate, DIR);
- strangers: one photo of each of the 602 lfw-devtest people with a single photo (never
  enrolled); a false positive is any match at all (the FPIR).

Each probe is searched at the default target (no ``fpir``: the service's 1e-3) and once with
``threshold=0`` (its top match and score): the figures at two other ``fpir`` values apply the
threshold the service answers for them to those top matches, and ``curve`` gives DIR and
strangers accepted over a range of thresholds. The services are the real
processes of ``make run``, started on free ports.

UTKFace holds photos of LFW celebrities, so before enrolling, the chips whose cosine to any
lfw-devtest photo reaches the served table's strictest row (FAR 1e-8) are left out
(``screened_chips``; ``--no-screen`` keeps them). The served impostor table is measured on
lfw-devtest alone, so the strangers' pairs with each other and with the enrolled LFW photos
took part in its calibration; their pairs with the UTKFace distractors, most of each search,
did not.

    .venv/bin/python evaluation/open_set.py                 # ~35 minutes on 2 cores
    .venv/bin/python evaluation/open_set.py --sizes 100,1000 --utk-limit 2000   # a quick try
    .venv/bin/python evaluation/open_set.py --model sface_dlib   # the fused embedder
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from deploy.local.stack import embedder_env, running_stack
from evaluation.impostor_table import (
    Photo,
    ServedEmbedder,
    lfw_photos,
    unpacked_utk,
    utk_photos,
)
from services.embedding.settings import EmbeddingSettings
from services.embedding.thresholds import FarTable
from services.shared.model_store import ModelStore

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_LFW = SHARED_DATA / "lfw-devtest"
DEFAULT_UTK = SHARED_DATA / "train" / "utkface-22k.tar.gz"
GROUP = "open-set"
OTHER_FPIRS = (1e-2, 1e-4)


@dataclass(frozen=True)
class Probe:
    """A search photo and the user it should find (None: a stranger)."""

    path: Path
    user_id: str | None


@dataclass(frozen=True)
class Outcome:
    """What one search answered: the top user (or None) and their score."""

    user_id: str | None
    score: float


NO_ANSWER = Outcome(None, 0.0)
"""A search that found no face in the probe."""


def lfw_people(folder: Path) -> dict[str, list[Path]]:
    """lfw-devtest photos by person."""
    people: dict[str, list[Path]] = {}
    for path in sorted((folder / "images").rglob("*.jpg")):
        people.setdefault(path.parent.name, []).append(path)
    return people


def user_id_of(name: str, prefix: str) -> str:
    """A valid user id for a person or chip name (letters, digits, _ - .)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{prefix}-{name}")[:64]


class Client:
    """The gateway calls the evaluation makes."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/v1", headers={"x-api-key": key}, timeout=60)

    def enroll(self, user_id: str, photo: Path) -> bool:
        """Enroll a photo's largest face; False when the photo has none."""
        response = self.http.post(
            f"/groups/{GROUP}/users/{user_id}/faces",
            files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
            data={"quality_control": "NONE"},
        )
        if response.status_code == 400 and response.json()["error"]["code"] == "NO_FACE":
            return False
        response.raise_for_status()
        return True

    def search(self, photo: Path, **params: float) -> tuple[Outcome | None, dict[str, float]]:
        """The top match of the photo's largest face (None: no face) and the decision used."""
        response = self.http.post(
            "/search",
            files={"image": (photo.name, photo.read_bytes(), "image/jpeg")},
            data={
                "group_ids": GROUP,
                "top_k": "1",
                "max_faces": "1",
                **{k: str(v) for k, v in params.items()},
            },
        )
        if response.status_code == 400 and response.json()["error"]["code"] == "NO_FACE":
            return None, {}
        response.raise_for_status()
        body = response.json()
        decision = {k: body[k] for k in ("threshold", "fpir", "gallery_size")}
        matches = body["faces"][0]["matches"]
        if not matches:
            return Outcome(None, 0.0), decision
        return Outcome(matches[0]["user_id"], float(matches[0]["score"])), decision


def enrolments(people: dict[str, list[Path]], chips: list[Path]) -> Iterator[tuple[str, Path]]:
    """What to enroll, in order: one photo of each mated LFW person, then UTKFace chips."""
    for photos in people.values():
        if len(photos) >= 2:
            yield user_id_of(photos[0].parent.name, "lfw"), photos[0]
    for chip in chips:
        yield user_id_of(chip.stem, "utk"), chip


def rates(outcomes: list[tuple[Probe, Outcome]], threshold: float) -> tuple[float, float]:
    """(DIR of mated probes, FPIR of strangers) if matches needed ``threshold``."""
    mated = [(p, o) for p, o in outcomes if p.user_id is not None]
    strangers = [o for p, o in outcomes if p.user_id is None]
    hits = sum(o.user_id == p.user_id and o.score >= threshold for p, o in mated)
    false = sum(o.user_id is not None and o.score >= threshold for o in strangers)
    return hits / max(1, len(mated)), false / max(1, len(strangers))


def evaluate_size(client: Client, probes: list[Probe]) -> dict[str, object]:
    """Every probe at the default and with threshold 0; the other FPIRs' thresholds asked once.

    A search answers its top match when that match reaches the threshold, so the answers at
    another threshold follow from the top match and its score (the ``threshold=0`` search):
    the figures at ``OTHER_FPIRS`` apply the threshold the service chose for them.
    """
    with ThreadPoolExecutor(max_workers=2) as pool:
        served = list(pool.map(lambda p: client.search(p.path), probes))
        ranked = list(pool.map(lambda p: client.search(p.path, threshold=0.0), probes))
    # a probe without a face stays in the denominators: a miss for an enrolled person, a
    # stranger kept out (as the service would answer a real photo of either)
    default = [(p, o or NO_ANSWER) for p, (o, _) in zip(probes, served, strict=True)]
    top = [(p, o or NO_ANSWER) for p, (o, _) in zip(probes, ranked, strict=True)]
    decision = next((d for _, d in served if d), None)
    if decision is None:
        raise SystemExit(f"no face found in any of the {len(probes)} probes: nothing to measure")
    dir_rate, fpir_rate = rates(default, 0.0)
    figures: dict[str, object] = {
        "gallery_size": decision["gallery_size"],
        "default": {
            "threshold": decision["threshold"],
            "target_fpir": decision["fpir"],
            "rank1_dir": round(dir_rate, 4),
            "strangers_accepted": round(fpir_rate, 4),
            # To look at: is the stranger someone the distractors show (a correct match)?
            "strangers_matched": [
                {"probe": p.path.name, "matched": o.user_id, "score": o.score}
                for p, o in default
                if p.user_id is None and o.user_id is not None
            ],
        },
    }
    for fpir in OTHER_FPIRS:
        _, asked = client.search(probes[0].path, fpir=fpir)
        dir_rate, fpir_rate = rates(top, asked["threshold"])
        figures[f"fpir={fpir:g}"] = {
            "threshold": asked["threshold"],
            "target_fpir": asked["fpir"],
            "rank1_dir": round(dir_rate, 4),
            "strangers_accepted": round(fpir_rate, 4),
        }
    scores = [o.score for _, o in top]
    thresholds = np.unique(np.round(np.percentile(scores, np.arange(50, 100, 2.5)), 2))
    figures["curve"] = [
        {"threshold": float(t), "rank1_dir": round(dr, 4), "strangers_accepted": round(fp, 4)}
        for t in thresholds
        for dr, fp in [rates(top, float(t))]
    ]
    mated = sum(p.user_id is not None for p in probes)
    figures["probes"] = {
        "mated": mated,
        "strangers": len(probes) - mated,
        "no_face": len(probes) - len(default),
    }
    return figures


def screened_chips(
    lfw: list[Photo], chips: list[Photo], embedder: ServedEmbedder, cache: Path | None
) -> tuple[list[Path], dict[str, object]]:
    """The chips that show none of the lfw-devtest people, and what the screen removed.

    UTKFace holds photos of celebrities who are in LFW too (seen 2026-12-05: Johnny Depp,
    Charlie Sheen, Eric Bana, Bruce Willis, Shirley Jones, Cecilia Cheung among the "strangers"
    matched at 10,000 faces): such a chip makes an LFW "stranger" a correct match. A chip is
    removed when its cosine to any lfw-devtest photo reaches the served table's strictest row
    (FAR 1e-8: by that table, not one of the ~35 million LFW-chip pairs should reach it by
    chance), so the screen takes out near-certain same-person chips and leaves look-alikes in.
    ``cache``: embeddings saved by ``evaluation/impostor_table.py --sets lfw,utk --embeddings``
    (the same photos in the same order), or written there when absent.
    """
    photos = lfw + chips
    if cache is not None and cache.is_file():
        saved = np.load(cache, allow_pickle=False)
        if int(saved["photos"]) != len(photos):
            raise SystemExit(f"{cache} holds another photo set")
        served = EmbeddingSettings().embedding_model
        if any(str(model).split()[0] != served for model in saved["models"]):
            raise SystemExit(f"{cache} holds {list(saved['models'])}'s embeddings, not {served}'s")
        vectors, kept = saved["vectors"], [int(i) for i in saved["kept"]]
    else:
        vectors, kept_list = embedder.embed_all(photos)
        kept = list(kept_list)
        if cache is not None:
            np.savez(cache, vectors=vectors, kept=kept, models=embedder.models, photos=len(photos))
    rows = np.array(kept)
    is_lfw = rows < len(lfw)
    spec = ModelStore().spec(EmbeddingSettings().embedding_model)
    table = FarTable.from_params(spec.params, spec.name)
    screen = table.similarity_at_far(table.fars[-1])
    best = (vectors[~is_lfw] @ vectors[is_lfw].T).max(axis=1)
    removed = {int(rows[~is_lfw][i]) for i in np.nonzero(best >= screen)[0]}
    examples = sorted(
        (
            (float(best[i]), chips[int(rows[~is_lfw][i]) - len(lfw)].path.name)
            for i in np.nonzero(best >= screen)[0]
        ),
        reverse=True,
    )[:5]
    report = {
        "screen_cosine": screen,
        "chips_removed": len(removed),
        "highest_removed": [{"cosine": round(c, 4), "chip": n} for c, n in examples],
    }
    kept_chips = [c.path for i, c in enumerate(chips) if i + len(lfw) not in removed]
    return kept_chips, report


def enroll_up_to(
    client: Client, plan: Iterator[tuple[str, Path]], enrolled: list[str], size: int
) -> int:
    """Enroll from the plan until ``size`` faces are in; returns the photos without a face."""
    no_face = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        while len(enrolled) < size:
            steps = [step for _, step in zip(range(size - len(enrolled)), plan, strict=False)]
            if not steps:
                break
            for (user_id, _), ok in zip(
                steps, pool.map(lambda s: client.enroll(*s), steps), strict=True
            ):
                if ok:
                    enrolled.append(user_id)
                else:
                    no_face += 1
    return no_face


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lfw", type=Path, default=DEFAULT_LFW)
    parser.add_argument("--utk", type=Path, default=DEFAULT_UTK, help="folder or .tar.gz")
    parser.add_argument("--sizes", default="100,1000,10000,20000")
    parser.add_argument("--utk-limit", type=int, default=0, help="use the first N chips")
    parser.add_argument(
        "--no-screen",
        action="store_true",
        help="keep the UTKFace chips that show lfw-devtest people (see screened_chips)",
    )
    parser.add_argument(
        "--embeddings", type=Path, help="impostor_table.py's saved lfw,utk embeddings (.npz)"
    )
    parser.add_argument("--model", default="sface", help="the embedder served (sface_dlib...)")
    options = parser.parse_args()
    sizes = sorted(int(s) for s in options.sizes.split(","))
    # Thousands of calls a minute on one key: the stack started here runs without the per-key
    # rate limit (its own setting, not a code path of the search).
    os.environ.setdefault("FACEFLOW_GATEWAY_RATE_LIMIT_PER_MINUTE", "0")
    # The embedder: the stack's embedding service and the screen's table both read it.
    os.environ.update(embedder_env(options.model))
    started = time.perf_counter()
    people = lfw_people(options.lfw)
    strangers = [Probe(photos[0], None) for photos in people.values() if len(photos) == 1]
    figures: dict[str, object] = {"model": options.model, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="faceflow-open-set-") as scratch:
        utk = utk_photos(unpacked_utk(options.utk, Path(scratch) / "utk"))
        if options.utk_limit:
            utk = utk[: options.utk_limit]
        with running_stack(Path(scratch) / "stack", services=("detection", "embedding")) as stack:
            chips = [photo.path for photo in utk]
            if not options.no_screen:
                embedder = ServedEmbedder(
                    stack.launcher.service_address("detection"),
                    stack.launcher.service_address("embedding"),
                )
                try:
                    chips, figures["screen"] = screened_chips(
                        lfw_photos(options.lfw), utk, embedder, options.embeddings
                    )
                finally:
                    embedder.close()
            client = Client(stack.url, stack.api_key)
            client.http.post("/groups", json={"group_id": GROUP}).raise_for_status()
            plan = enrolments(people, chips)
            enrolled: list[str] = []
            no_face = 0
            for size in sizes:
                no_face += enroll_up_to(client, plan, enrolled, size)
                present = set(enrolled)
                mated = [
                    Probe(photos[1], user_id_of(photos[0].parent.name, "lfw"))
                    for photos in people.values()
                    if len(photos) >= 2 and user_id_of(photos[0].parent.name, "lfw") in present
                ]
                result = evaluate_size(client, mated + strangers)
                result["seconds"] = round(time.perf_counter() - started, 1)
                figures["sizes"][str(len(enrolled))] = result  # type: ignore[index]
                sys.stderr.write(f"{len(enrolled)} faces: {json.dumps(result)}\n")
            figures["no_face_skipped"] = no_face
            client.http.close()
    figures["seconds"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
