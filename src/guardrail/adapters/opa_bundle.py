"""OPA bundles: the project's policies and data as the `bundle.tar.gz` an OPA server loads as is.

Layout (https://www.openpolicyagent.org/docs/management-bundles, "Bundle File Format"): a gzipped tarball with a
`.manifest` (JSON: `revision`, `roots`, `rego_version`, `metadata`), the `.rego` modules at their paths, and
`data.json` files whose folder is where their value mounts in `data` (`data.json` at the root mounts at the root).
`roots` declare the parts of `data` the bundle owns; OPA refuses a bundle whose roots overlap, or whose packages
or data fall outside them, and `read_bundle` checks the same, so the tests load what OPA would.

Writing is deterministic (sorted members, zero times and owners, gzip without a timestamp): the same policies give
the same bytes, so a bundle can itself be pinned by its hash.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from guardrail.adapters.rego import PolicyBundle, to_json
from guardrail.errors import ConfigError, CouldNotFinish

MANIFEST = ".manifest"
DATA_FILES = ("data.json", "data.yaml")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.MULTILINE)


def package_of(source: str) -> str | None:
    match = _PACKAGE.search(source)
    return match.group(1) if match else None


def bundle_roots(bundle: PolicyBundle) -> list[str]:
    """The top-level names the bundle's packages and data use: the parts of `data` it owns."""
    roots = {package.split(".")[0] for _, source in bundle.modules if (package := package_of(source))}
    return sorted(roots | set(bundle.data))


def write_bundle(bundle: PolicyBundle, out: Path, *, revision: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Write `bundle` (module paths relative to the policy folder) to `out`; returns the manifest."""
    manifest = {"revision": revision, "roots": bundle_roots(bundle), "rego_version": 1, "metadata": dict(metadata)}
    members = {MANIFEST: json.dumps(manifest, indent=2, sort_keys=True).encode()}
    members["data.json"] = to_json(bundle.data).encode()
    for path, source in bundle.modules:
        members[_member_name(path)] = source.encode("utf-8")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(members[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(members[name]))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle, gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as gz:
            gz.write(raw.getvalue())
    except OSError as exc:
        raise CouldNotFinish(f"{out}: cannot write the bundle: {exc.strerror or exc}") from exc
    return manifest


def read_bundle(path: Path) -> tuple[PolicyBundle, dict[str, Any]]:
    """A bundle as OPA reads it: modules, data merged at each data file's folder, the manifest; checked."""
    import yaml

    manifest: dict[str, Any] = {}
    bundle = PolicyBundle(root=str(path))
    try:
        tar = tarfile.open(path, mode="r:gz")  # noqa: SIM115 (closed by the with below; opening is what can fail)
    except (OSError, tarfile.TarError) as exc:
        raise ConfigError(f"not a gzipped tar bundle: {exc}", path=str(path)) from None
    with tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = PurePosixPath(member.name.lstrip("/").removeprefix("./"))
            if ".." in name.parts:
                raise ConfigError(f"member {member.name!r} escapes the bundle", path=str(path))
            handle = tar.extractfile(member)
            content = handle.read() if handle is not None else b""
            if name.as_posix() == MANIFEST:
                manifest = json.loads(content)
            elif name.suffix == ".rego":
                bundle.modules.append((name.as_posix(), content.decode("utf-8")))
            elif name.name in DATA_FILES:
                value = json.loads(content) if name.suffix == ".json" else yaml.safe_load(content)
                _mount(bundle.data, list(name.parent.parts), value, path)
    _check(bundle, manifest, path)
    bundle.modules.sort()
    return bundle, manifest


def _member_name(path: str) -> str:
    name = PurePosixPath(path)
    if name.is_absolute() or ".." in name.parts:
        raise ConfigError("a module path must be relative to the policy folder", path=path)
    return name.as_posix()


def _mount(data: dict[str, Any], at: list[str], value: Any, path: Path) -> None:
    node = data
    for key in at:
        node = node.setdefault(key, {})
    if not at:
        if not isinstance(value, dict):
            raise ConfigError("the root data.json must hold an object", path=str(path))
        node.update(value)
    else:
        parent = data
        for key in at[:-1]:
            parent = parent[key]
        parent[at[-1]] = value


def _check(bundle: PolicyBundle, manifest: dict[str, Any], path: Path) -> None:
    if not isinstance(manifest.get("revision", ""), str):
        raise ConfigError("the manifest's revision must be a string", path=str(path), field=MANIFEST)
    roots = manifest.get("roots", [""])
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError("the manifest's roots must be a list of strings", path=str(path), field=MANIFEST)
    for a in roots:
        for b in roots:
            if a != b and (a == "" or b.startswith(a + "/")):
                raise ConfigError(f"roots {a!r} and {b!r} overlap", path=str(path), field=MANIFEST)

    def owned(ref: str) -> bool:
        return any(root == "" or ref == root or ref.startswith(root + "/") for root in roots)

    for module_path, source in bundle.modules:
        package = package_of(source)
        if package is None or not owned(package.replace(".", "/")):
            raise ConfigError(f"package {package} is outside the bundle's roots {roots}", path=module_path)
    for key in bundle.data:
        if not owned(key):
            raise ConfigError(f"data {key!r} is outside the bundle's roots {roots}", path=str(path))


__all__ = ["bundle_roots", "package_of", "read_bundle", "write_bundle"]
