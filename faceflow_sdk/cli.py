"""The ``faceflow`` command line: the SDK's calls for a terminal.

  faceflow detect PHOTO [--fields age,gender,...]     faces, boxes, landmarks, attributes
  faceflow verify A B                                 1:1, are they the same person?
  faceflow verify-user PHOTO GROUP USER               1:1 against an enrolled user
  faceflow enroll GROUP USER PHOTO                    enroll one face
  faceflow enroll-folder GROUP FOLDER                 FOLDER/<user>/*.jpg, resumable
  faceflow search GROUP PHOTO                         1:N, who is in the photo?
  faceflow groups [create|delete GROUP]               list, create or delete groups
  faceflow users GROUP [USER]                         a group's users, or one user's faces
  faceflow liveness PHOTO                             passive anti-spoofing check
  faceflow cluster FOLDER [--json FILE]               group the faces of FOLDER's photos
  faceflow watch SOURCE --group G [--output F.jsonl]  who passes in a video file, webcam or
                                                      stream: one JSON line per person seen
  faceflow readyz                                     is every model service SERVING?
  faceflow tenants ...                                python -m gateway.tenants (server side)

Server: --url or FACEFLOW_URL (default http://127.0.0.1:8000). Key: --api-key or
FACEFLOW_API_KEY (default: var/demo-api-key.txt, written by ``make run``). ``--json`` prints the
raw responses. Exit status: 0 done, 1 an API error or failed photos, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from faceflow_sdk import watch
from faceflow_sdk.argtypes import positive_seconds, whole_number
from faceflow_sdk.client import DEFAULT_TIMEOUT_SECONDS, FaceflowClient
from faceflow_sdk.cluster_folder import (
    MAX_PHOTOS_PER_REQUEST,
    ClusterFolderResult,
    cluster_folder,
)
from faceflow_sdk.enroll_folder import EnrollSummary, enroll_folder
from faceflow_sdk.errors import FaceflowError, ServiceUnavailableError

Shower: TypeAlias = Callable[[dict[str, Any]], None]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one sub-command per task)."""
    parser = argparse.ArgumentParser(
        prog="faceflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="server URL (FACEFLOW_URL; default http://127.0.0.1:8000)")
    parser.add_argument(
        "--api-key", help="API key (FACEFLOW_API_KEY; default var/demo-api-key.txt)"
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds per request (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the raw JSON responses")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # --json is also accepted after the command (``faceflow groups --json``)
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print the raw JSON responses",
    )

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[output], help=text)

    detect = command("detect", "detect faces in a photo")
    detect.add_argument("photo", type=Path)
    detect.add_argument("--fields", default="", help="extras: mesh,age,gender,emotion,pose,quality")
    detect.add_argument("--max-faces", type=int)
    detect.add_argument("--min-face-size", type=int)

    verify = command("verify", "compare the faces of two photos")
    verify.add_argument("photo_a", type=Path)
    verify.add_argument("photo_b", type=Path)

    verify_user = command("verify-user", "compare a photo with an enrolled user")
    verify_user.add_argument("photo", type=Path)
    verify_user.add_argument("group")
    verify_user.add_argument("user")

    enroll = command("enroll", "enroll one photo's face for a user")
    enroll.add_argument("group")
    enroll.add_argument("user")
    enroll.add_argument("photo", type=Path)
    enroll.add_argument("--user-info", help="free text stored with the user")
    enroll.add_argument("--quality", choices=("NONE", "LOW", "NORMAL", "HIGH"))

    folder = command("enroll-folder", "enroll FOLDER/<user>/*.jpg (resumable)")
    folder.add_argument("group")
    folder.add_argument("folder", type=Path)
    folder.add_argument(
        "--state", type=Path, help="state file (default FOLDER/.faceflow-enroll-GROUP.json)"
    )
    folder.add_argument("--quality", choices=("NONE", "LOW", "NORMAL", "HIGH"))
    folder.add_argument("--no-progress", action="store_true", help="no progress bar")

    search = command("search", "find the people of a photo in a group")
    search.add_argument("group", help="a group id, or several separated by commas")
    search.add_argument("photo", type=Path)
    search.add_argument("--top-k", type=int)
    search.add_argument("--threshold", type=float, help="minimum score 0-100 (overrides --fpir)")
    search.add_argument(
        "--fpir", type=float, help="share of strangers that may match someone (default 0.001)"
    )

    groups = command("groups", "list, create or delete groups")
    groups.add_argument("action", nargs="?", choices=("list", "create", "delete"), default="list")
    groups.add_argument("group", nargs="?")

    users = command("users", "a group's users, or one user's faces")
    users.add_argument("group")
    users.add_argument("user", nargs="?")

    liveness = command("liveness", "passive liveness check of a photo")
    liveness.add_argument("photo", type=Path)

    command("readyz", "is every model service SERVING? (exit 1, naming those that are not)")

    clusters = sub.add_parser(
        "cluster", help="group the faces of a folder's photos into people (sub-folders too)"
    )
    clusters.add_argument("folder", type=Path)
    clusters.add_argument(
        "--far",
        type=float,
        help="per-pair false-accept rate two faces must pass to be linked (default 1e-5)",
    )
    clusters.add_argument(
        "--min-cluster-size", type=int, help="smaller clusters are left unassigned (default 2)"
    )
    clusters.add_argument(
        "--batch",
        type=whole_number(1, MAX_PHOTOS_PER_REQUEST),
        default=16,
        help=f"photos per upload (at most {MAX_PHOTOS_PER_REQUEST}, the server's limit)",
    )
    clusters.add_argument(
        "--json", dest="json_file", type=Path, help="also write the whole result to this file"
    )
    clusters.add_argument("--no-progress", action="store_true", help="no progress line")

    watch.add_parser(sub)

    tenants = sub.add_parser(
        "tenants", help="manage tenants and keys (runs python -m gateway.tenants)", add_help=False
    )
    tenants.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _box(box: dict[str, Any]) -> str:
    return f"x={box['x']:.0f} y={box['y']:.0f} {box['width']:.0f}x{box['height']:.0f}"


def attribute_text(name: str, value: Any) -> str:
    """A short text for one attribute (the server's shapes, JSON for anything unknown)."""
    if isinstance(value, dict):
        if name == "pose" and {"yaw", "pitch", "roll"} <= value.keys():
            return f"yaw {value['yaw']} pitch {value['pitch']} roll {value['roll']}"
        for key in ("value", "label", "dominant", "score"):
            if key in value:
                return str(value[key])
    return json.dumps(value, ensure_ascii=False)


def _attributes(face: dict[str, Any]) -> str:
    known = ("age", "gender", "emotion", "pose", "quality")
    parts = [
        f"{name}={attribute_text(name, face[name])}" for name in known if face.get(name) is not None
    ]
    if face.get("mesh"):
        parts.append(f"mesh={len(face['mesh'])} points")
    return ("  " + " ".join(parts)) if parts else ""


def show_detect(result: dict[str, Any]) -> None:
    """Faces, one line each."""
    image = result["image"]
    count = len(result["faces"])
    _write(
        f"{count} face{'s' if count != 1 else ''} in {image['width']}x{image['height']} "
        f"({result['took_ms']:.0f} ms)"
    )
    for number, face in enumerate(result["faces"], 1):
        _write(
            f"  {number}. {_box(face['box'])} score={face['score']:.3f} "
            f"token={face['face_token']}{_attributes(face)}"
        )


def show_verify(result: dict[str, Any]) -> None:
    """The verdict and the score against the published thresholds."""
    verdict = "SAME person" if result["same_person"] else "DIFFERENT people"
    thresholds = ", ".join(f"FAR {k}: {v}" for k, v in result.get("thresholds", {}).items())
    _write(
        f"{verdict}: score {result['score']:.1f}/100 (cosine {result['similarity']:.3f}); "
        f"thresholds {thresholds}"
    )


def show_search(result: dict[str, Any]) -> None:
    """Each face and its matches."""
    if not result["faces"]:
        _write("no face in the photo")
    elif "gallery_size" in result:
        _write(
            f"threshold {result['threshold']:.2f} (FPIR {result['fpir']:g} over "
            f"{result['gallery_size']} users)"
        )
    for number, face in enumerate(result["faces"], 1):
        matches = face["matches"]
        if not matches:
            _write(f"  {number}. {_box(face['box'])}: no match above the threshold")
            continue
        names = ", ".join(f"{m['user_id']} ({m['group_id']}) {m['score']:.1f}" for m in matches)
        _write(f"  {number}. {_box(face['box'])}: {names}")


def show_user(user: dict[str, Any]) -> None:
    """A user and their face tokens."""
    info = f" ({user['user_info']})" if user.get("user_info") else ""
    _write(f"{user['user_id']}{info}: {len(user['faces'])} face(s)")
    for face in user["faces"]:
        _write(f"  {face['face_token']}")


def show_users(page: dict[str, Any]) -> None:
    """One page of users."""
    for user in page["users"]:
        info = f" ({user['user_info']})" if user.get("user_info") else ""
        _write(f"{user['user_id']}{info}: {len(user['faces'])} face(s)")
    _write(f"{len(page['users'])} of {page['total']} users")


def show_summary(summary: EnrollSummary) -> None:
    """The enroll-folder report."""
    _write(
        f"{summary.enrolled} enrolled now, {summary.already_done} done before, "
        f"{len(summary.failures)} failed, of {summary.total} photos"
    )
    for failure in summary.failures:
        _write(f"  FAILED {failure.key}: {failure.code}: {failure.message}")
    if summary.ignored:
        _write(f"  ignored (not a photo in a user folder): {', '.join(summary.ignored)}")
    if summary.stopped_by is not None:
        _write(f"STOPPED: {summary.stopped_by}; run the same command again to resume")


def summary_json(summary: EnrollSummary) -> dict[str, Any]:
    """The enroll-folder report as JSON."""
    return {
        "total": summary.total,
        "enrolled": summary.enrolled,
        "already_done": summary.already_done,
        "complete": summary.complete,
        "failures": [
            {"photo": f.key, "code": f.code, "message": f.message} for f in summary.failures
        ],
        "ignored": summary.ignored,
        "stopped_by": None
        if summary.stopped_by is None
        else {"code": summary.stopped_by.code, "message": summary.stopped_by.message},
    }


def cluster_json(result: ClusterFolderResult) -> dict[str, Any]:
    """The cluster report as JSON: the job's final state and every cluster."""
    job = dict(result.job) if result.job is not None else None
    if job is not None:
        for key in ("clusters", "unassigned", "offset", "limit"):
            job.pop(key, None)
        job.pop("unassigned_offset", None)
        job.pop("unassigned_limit", None)
    return {
        "job": job,
        "photos": result.photos,
        "clusters": result.clusters,
        "unassigned": result.unassigned,
        "faceless_photos": result.faceless,
        "failures": [
            {"photo": f.photo, "code": f.code, "message": f.message} for f in result.failures
        ],
        "complete": result.complete,
    }


def show_clusters(result: ClusterFolderResult) -> None:
    """Each cluster as its photos, then what is left over."""
    job = result.job
    if job is None:
        _write(f"no face in any of {result.photos} photos")
    else:
        _write(
            f"{job['cluster_count']} people in {job['face_count']} faces of {result.photos} "
            f"photos ({job['unassigned_count']} faces unassigned); job {job['job_id']}"
        )
        if job["status"] == "failed":
            _write(f"FAILED: {job.get('error') or 'the clustering failed'}")
    for cluster in result.clusters:
        photos = sorted({_face_name(face) for face in cluster["faces"]})
        shown = ", ".join(photos[:8]) + (f", ... (+{len(photos) - 8})" if len(photos) > 8 else "")
        _write(f"  person {cluster['cluster_id'] + 1}: {cluster['size']} faces: {shown}")
    if result.unassigned:
        names = sorted({_face_name(face) for face in result.unassigned})
        _write(f"  unassigned: {', '.join(names[:8])}{' ...' if len(names) > 8 else ''}")
    if result.faceless:
        _write(f"  no face: {len(result.faceless)} photos")
    for failure in result.failures:
        _write(f"  FAILED {failure.photo}: {failure.code}: {failure.message}")


def _face_name(face: dict[str, Any] | Any) -> str:
    if face.get("photo"):
        return f"{face['photo']}#{face['face_index']}"
    return f"{face.get('group_id')}/{face.get('face_token')}"


def show_progress(disabled: bool) -> bool:
    """A progress bar only on a terminal (logs and pipes get the summary alone)."""
    return not disabled and sys.stderr.isatty()


def run_tenants(args: Sequence[str]) -> int:
    """Tenants live in the gateway's database: run its admin command on this machine."""
    return subprocess.call([sys.executable, "-m", "gateway.tenants", *args])


def run(options: argparse.Namespace, client: FaceflowClient) -> int:
    """Execute one parsed command; returns the exit status."""
    as_json: bool = options.json
    result: dict[str, Any]
    shower: Shower
    command = options.command
    if command == "enroll-folder":
        summary = enroll_folder(
            client,
            options.group,
            options.folder,
            state_path=options.state,
            quality_control=options.quality,
            progress=sys.stderr if show_progress(options.no_progress or as_json) else None,
        )
        if as_json:
            _write(json.dumps(summary_json(summary), indent=2, ensure_ascii=False))
        else:
            show_summary(summary)
        return 0 if summary.complete else 1
    if command == "watch":
        return watch.run(options, client)
    if command == "readyz":
        return readyz(client, as_json)
    if command == "cluster":
        target = options.json_file
        if target is not None and (target.is_dir() or not target.parent.is_dir()):
            raise ValueError(f"--json {target}: not a file in an existing folder")
        clustered = cluster_folder(
            client,
            options.folder,
            far=options.far,
            min_cluster_size=options.min_cluster_size,
            batch_photos=options.batch,
            progress=sys.stderr if show_progress(options.no_progress or as_json) else None,
        )
        report = cluster_json(clustered)
        if options.json_file is not None:
            options.json_file.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        if as_json:
            _write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            show_clusters(clustered)
        return 0 if clustered.complete else 1
    if command == "detect":
        fields = [f for f in options.fields.split(",") if f.strip()]
        result = dict(
            client.detect(
                options.photo,
                fields=fields,
                max_faces=options.max_faces,
                min_face_size=options.min_face_size,
            )
        )
        shower = show_detect
    elif command == "verify":
        result = dict(client.verify(options.photo_a, options.photo_b))
        shower = show_verify
    elif command == "verify-user":
        result = dict(client.verify_user(options.photo, options.group, options.user))
        shower = show_verify
    elif command == "enroll":
        result = dict(
            client.enroll(
                options.group,
                options.user,
                options.photo,
                user_info=options.user_info,
                quality_control=options.quality,
            )
        )
        shower = lambda r: _write(  # noqa: E731
            f"enrolled {r['user_id']} in {r['group_id']}: face_token {r['face_token']}"
        )
    elif command == "search":
        result = dict(
            client.search(
                options.photo,
                options.group.split(","),
                top_k=options.top_k,
                threshold=options.threshold,
                fpir=options.fpir,
            )
        )
        shower = show_search
    elif command == "groups":
        result, shower = _groups(options, client)
    elif command == "users":
        if options.user:
            result = dict(client.get_user(options.group, options.user))
            shower = show_user
        else:
            result = dict(client.list_users(options.group))
            shower = show_users
    else:  # liveness
        result = dict(client.liveness_check(options.photo))
        shower = lambda r: _write(  # noqa: E731
            f"{'LIVE' if r['live'] else 'SPOOF'}: score {r['score']:.3f} "
            f"(threshold {r['threshold']:.3f})"
        )
    if as_json:
        _write(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        shower(result)
    return 0


def readyz(client: FaceflowClient, as_json: bool) -> int:
    """Each service's status; not ready (503) names those not SERVING on stderr, exit 1."""
    try:
        result = dict(client.readyz())
    except ServiceUnavailableError as error:
        services = error.body.get("services")
        if not isinstance(services, dict):
            raise
        if as_json:
            _write(json.dumps(error.body, indent=2, ensure_ascii=False))
        down = ", ".join(
            f"{name} {state}" for name, state in services.items() if state != "SERVING"
        )
        sys.stderr.write(f"not ready: {down or 'no service configured'}\n")
        return 1
    if as_json:
        _write(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        states = ", ".join(f"{name} {state}" for name, state in result["services"].items())
        _write(f"ready: {states}")
    return 0


def usage_error(options: argparse.Namespace) -> str | None:
    """What the parser cannot check itself: a GROUP that only some actions need."""
    if options.command == "groups" and options.action != "list" and not options.group:
        return f"'groups {options.action}' needs a GROUP"
    return None


def _groups(options: argparse.Namespace, client: FaceflowClient) -> tuple[dict[str, Any], Shower]:
    if options.action == "create":
        return client.create_group(options.group), lambda r: _write(f"created {options.group}")
    if options.action == "delete":
        return client.delete_group(options.group), lambda r: _write(f"deleted {options.group}")
    listing = dict(client.list_groups())
    return listing, lambda r: _write("\n".join(g["group_id"] for g in r["groups"]) or "(no groups)")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``faceflow`` and ``python -m faceflow_sdk``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    options = parser.parse_args(arguments)
    problem = usage_error(options)
    if problem is not None:
        parser.error(problem)  # usage and message on stderr, exit status 2
    if options.command == "tenants":
        return run_tenants(options.args)
    try:
        with FaceflowClient(options.url, options.api_key, timeout=options.timeout) as client:
            return run(options, client)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except FaceflowError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    except (OSError, ValueError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
