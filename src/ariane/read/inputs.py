"""What the user gave, as the files to read: a folder is its files, a FHIR bulk export's
manifest the files it lists.

A folder is read as every regular file below it, in the order of their paths. A FHIR
Bulk Data manifest (the JSON a server returns when an ``$export`` completes: its
``output`` lists ``{"type": ..., "url": ...}``, the same type often over several files)
is read as the files it lists, found where the client saved them: a relative URL beside
the manifest, a ``file:`` URL where it says, a server's URL by its last segment beside the
manifest. A file given twice (the manifest and its folder) is read once. The manifest
holds no record: it is not read as data.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

from ariane.errors import InputError

#: A manifest is a small JSON document: a larger file is not looked at as one.
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def given_files(paths: list[Path]) -> list[Path]:
    """The files to read for ``paths``: folders opened, manifests replaced by their files."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file())
            if not inside:
                raise InputError(f"{path}: folder holds no file to read")
            manifests = [p for p in inside if bulk_manifest(p) is not None]
            files += [f for m in manifests for f in manifest_files(m)]
            files += [p for p in inside if p not in manifests]
        elif bulk_manifest(path) is not None:
            files += manifest_files(path)
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for file in files:
        real = file.resolve()
        if real not in seen:
            seen.add(real)
            unique.append(file)
    return unique


def bulk_manifest(path: Path) -> list[str] | None:
    """The URLs of the files a bulk export's manifest lists, or None if ``path`` is none."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        with open(path, "rb") as handle:
            if handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"{":
                return None
            handle.seek(0)
            document = json.loads(handle.read().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(document, dict) or "resourceType" in document:
        return None
    output = document.get("output")
    if not isinstance(output, list) or not ({"transactionTime", "request"} & document.keys()):
        return None
    entries = [e for e in output if isinstance(e, dict)]
    if len(entries) != len(output) or not all(
        isinstance(e.get("type"), str) and isinstance(e.get("url"), str) for e in entries
    ):
        return None
    return [e["url"] for e in entries]


def manifest_files(manifest: Path) -> list[Path]:
    """The local files of the manifest's ``output``, each where the client saved it."""
    urls = bulk_manifest(manifest) or []
    found: list[Path] = []
    missing: list[str] = []
    for url in urls:
        local = _local(manifest.parent, url)
        if local is None:
            missing.append(url)
        else:
            found.append(local)
    if missing:
        raise InputError(
            f"{manifest}: bulk export manifest lists {len(missing):,} of {len(urls):,} files "
            "not found beside it; save them there, or give the files you have"
        )
    return found


def _local(folder: Path, url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        candidates = [Path(unquote(parsed.path))]
    elif parsed.scheme in ("http", "https"):
        candidates = [folder / Path(unquote(parsed.path)).name]
    else:
        candidates = [folder / unquote(url)]
    return next((c for c in candidates if c.is_file()), None)
