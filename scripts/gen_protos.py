"""Generate the Python gRPC stubs for every proto under protos/ into protos/gen.

The generator is pinned through requirements (grpcio-tools); `--check` regenerates into a
temporary folder and exits non-zero when the committed stubs differ (used by the tests).
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
GEN_ROOT = PROTO_ROOT / "gen"


def _proto_files() -> list[Path]:
    return sorted(p for p in (PROTO_ROOT / "faceflow").rglob("*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc for all protos, writing *_pb2.py, *_pb2.pyi and *_pb2_grpc.py to out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = Path(protoc.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in _proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for folder in [out_dir / "faceflow", *(out_dir / "faceflow").rglob("*")]:
        if folder.is_dir():
            (folder / "__init__.py").touch()
    (out_dir / "faceflow" / "py.typed").touch()


def _differences(a: Path, b: Path) -> list[str]:
    names_a = {
        p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    names_b = {
        p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    diffs = sorted(str(n) for n in names_a ^ names_b)
    for name in names_a & names_b:
        if not filecmp.cmp(a / name, b / name, shallow=False):
            diffs.append(str(name))
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if committed stubs are stale")
    options = parser.parse_args()
    if options.check:
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp))
            diffs = _differences(Path(tmp), GEN_ROOT)
        if diffs:
            sys.stderr.write("stale generated stubs, run `make protos`: " + ", ".join(diffs) + "\n")
            return 1
        return 0
    if GEN_ROOT.exists():
        shutil.rmtree(GEN_ROOT)
    generate(GEN_ROOT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
