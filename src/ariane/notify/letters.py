"""Letters and SMS: rendered in batches, sealed in the case, handed over encrypted.

Letters are laid out by Typst (``templates/letters.typ``; fonts from the system, DejaVu
Sans): one print-ready PDF per batch, one page per notice, the address in the window of a
French DL/C5 window envelope. SMS texts go in a CSV per batch for an SMS provider.

Exactly once: a batch file's name is a digest of the notice ids it holds. Its manifest
(ids only) is written first, then its sealed payload, each to a temporary name and then
renamed; a batch is finished when its payload is in place. After a crash
(:func:`finished`) the notices of finished batches are recorded as done and never
rendered again; a half-written batch is removed and its notices rendered anew.

Payloads are sealed (AES-GCM, a key derived from the case key, the file name bound in) and
stay so in the case; :func:`hand_over` writes them for the printer or the SMS provider
encrypted with age, with an index, once per batch (audited by the caller).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ariane.errors import CaseError, ConfigError

TEMPLATE = Path(__file__).parent / "templates" / "letters.typ"
FONT = "DejaVu Sans"
NONCE_BYTES = 12
KINDS = {"letters": ("letter", ".pdf"), "sms": ("sent", ".csv")}
_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre")  # fmt: skip


@dataclass(frozen=True)
class Letter:
    """One page: who writes, to whom, the reference, the text."""

    notice_id: str
    sender: list[str]
    address: list[str]
    reference: str
    body: str

    def as_input(self) -> dict[str, Any]:
        """The page's data as the Typst template reads it."""
        return {"sender": self.sender, "address": self.address,
                "reference": self.reference, "body": parts(self.body)}  # fmt: skip


def parts(body: str) -> list[dict[str, str]]:
    """A notice's text as headings, paragraphs and list items (for the layout)."""
    found: list[dict[str, str]] = []
    for block in body.strip().split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        for number, line in enumerate(lines):
            if line.startswith("- "):
                found.append({"kind": "item", "text": line[2:]})
            elif number == 0 and len(lines) > 1 and not line.endswith((".", ":", ",")):
                found.append({"kind": "heading", "text": line})
            else:
                found.append({"kind": "para", "text": line})
    return found


def french_date(day: date) -> str:
    """« 3 mars 2021 »."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def render_letters(letters: list[Letter], issued: date) -> bytes:
    """One PDF, one page per letter, in the order given."""
    import typst

    try:
        return typst.compile(
            TEMPLATE.read_bytes(),
            sys_inputs={
                "batch": json.dumps([letter.as_input() for letter in letters]),
                "issued": french_date(issued),
            },
        )
    except typst.TypstError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "one page" in str(exc):
            raise ConfigError("letters: a notice takes more than one page; shorten the "
                              "template") from None  # fmt: skip
        raise ConfigError(f"letters: Typst could not lay the batch out ({message[:120]})") from None


def sms_csv(rows: list[tuple[str, str, str]]) -> bytes:
    """The SMS batch for a provider: notice reference, phone (E.164), text."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(("reference", "phone", "text"))
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


class Batches:
    """The folder of batch files of a case: write once, find finished, open, hand over."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self._key = key

    @staticmethod
    def name(kind: str, notice_ids: list[str]) -> str:
        """The batch's file name stem: its kind and a digest of its notice ids."""
        digest = hashlib.sha256("\n".join(sorted(notice_ids)).encode()).hexdigest()[:24]
        return f"{kind}-{digest}"

    def write(self, kind: str, notice_ids: list[str], payload: bytes) -> str:
        """Write a batch (manifest, then sealed payload; each renamed into place)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = self.name(kind, notice_ids)
        if (self.folder / f"{name}.sealed").exists():
            raise CaseError(f"{name}: batch already written (reconcile first)")
        manifest = {"kind": kind, "ids": notice_ids}
        _write_atomically(self.folder / f"{name}.json", json.dumps(manifest).encode())
        _write_atomically(self.folder / f"{name}.sealed", self._seal(payload, name))
        _sync_folder(self.folder)
        return name

    def clean(self) -> int:
        """Remove what a killed sender left half-written; how many files."""
        if not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.iterdir():
            half = path.suffix == ".tmp" or (
                path.suffix == ".json" and not path.with_suffix(".sealed").exists()
            )
            if half:
                path.unlink()
                removed += 1
        return removed

    def manifests(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every finished batch: its name and manifest, in name order."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            if path.with_suffix(".sealed").exists():
                yield path.stem, json.loads(path.read_text())

    def finished(self) -> dict[str, str]:
        """Each notice of a finished batch and the status its batch gives it."""
        done: dict[str, str] = {}
        for _name, manifest in self.manifests():
            status = KINDS[manifest["kind"]][0]
            done.update(dict.fromkeys(manifest["ids"], status))
        return done

    def open(self, name: str) -> bytes:
        """A batch's payload, unsealed."""
        sealed = (self.folder / f"{name}.sealed").read_bytes()
        return AESGCM(self._key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                         name.encode())  # fmt: skip

    def _seal(self, payload: bytes, name: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._key).encrypt(nonce, payload, name.encode())

    def hand_over(
        self,
        out_dir: Path,
        encrypt: Callable[[bytes], bytes],
        already: set[str],
        index_rows: Callable[[str, list[str]], list[tuple[Any, ...]]],
    ) -> list[str]:
        """Write every finished batch not handed over yet, encrypted, and an index; names."""
        names = [name for name, _m in self.manifests() if name not in already]
        if not names:
            return []
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        index = io.StringIO()
        writer = csv.writer(index)
        writer.writerow(("file", "page", "reference", "postal_code", "town_line"))
        for name in names:
            manifest = json.loads((self.folder / f"{name}.json").read_text())
            extension = KINDS[manifest["kind"]][1]
            file_name = f"{name}{extension}.age"
            _write_atomically(out_dir / file_name, encrypt(self.open(name)))
            if manifest["kind"] == "letters":
                for page, row in enumerate(index_rows(name, manifest["ids"]), start=1):
                    writer.writerow((file_name, page, *row))
        stem = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        _write_atomically(out_dir / f"index-{stem}.csv.age",
                          encrypt(index.getvalue().encode("utf-8")))  # fmt: skip
        _sync_folder(out_dir)
        return names


def _write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary name, flush to disk, rename: the file is whole or absent."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
