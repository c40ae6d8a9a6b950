"""The self-check index on disk, and the two secrets kept apart from it.

Layout of an index directory (nothing in it is personal data in clear)::

    index.json     format, counts, HMAC key fingerprint, the sender's age public key,
                   and the controllers (lab name, DPO contact: public facts)
    digests.bin    sorted records of 36 bytes: HMAC-SHA256 digest (32) + entry number
                   (uint32, little-endian); one record per identifier of a person
    contacts.bin   one fixed-size slot per entry: 2-byte length + an age ciphertext of the
                   person's contact details and controllers, padded; the last slot is a
                   decoy the sender decrypts for a miss, so a miss costs what a hit costs

The secrets, each a 0600 file *beside* the directory (never inside it)::

    INDEX_DIR.hmac-key    32 random bytes (hex): the web process needs it to compute digests
    INDEX_DIR.sender-key  age X25519 identity: only the sender process reads it

``ARIANE_SELFCHECK_HMAC_KEY`` (64 hex characters) may replace the HMAC key file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mmap
import os
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ariane.errors import ConfigError

FORMAT = 1
MANIFEST = "index.json"
DIGESTS = "digests.bin"
CONTACTS = "contacts.bin"
HMAC_KEY_VARIABLE = "ARIANE_SELFCHECK_HMAC_KEY"
DIGEST_SIZE = 32
RECORD = np.dtype([("digest", f"S{DIGEST_SIZE}"), ("entry", "<u4")])
#: Plaintext of every sealed contact is padded to this size, so slots do not tell lengths.
SEALED_PLAINTEXT = 1024


def hmac_key_path(index_dir: Path) -> Path:
    """Default place of the HMAC key: beside the index directory."""
    return index_dir.with_name(index_dir.name + ".hmac-key")


def sender_key_path(index_dir: Path) -> Path:
    """Default place of the sender's age identity: beside the index directory."""
    return index_dir.with_name(index_dir.name + ".sender-key")


def write_secret(path: Path, text: str) -> None:
    """Create a 0600 file holding ``text``; refuse to overwrite one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{path}: already exists; remove it or choose another --out") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def new_hmac_key() -> bytes:
    """A fresh random HMAC key."""
    return secrets.token_bytes(32)


def read_hmac_key(path: Path) -> bytes:
    """The HMAC key from ``ARIANE_SELFCHECK_HMAC_KEY`` or its file."""
    text = os.environ.get(HMAC_KEY_VARIABLE)
    origin = HMAC_KEY_VARIABLE
    if not text:
        origin = str(path)
        try:
            text = path.read_text().strip()
        except OSError:
            raise ConfigError(
                f"{path}: HMAC key file not found (set {HMAC_KEY_VARIABLE})"
            ) from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigError(f"{origin}: not a self-check HMAC key (64 hex characters)")
    return key


def fingerprint(key: bytes) -> str:
    """A short public fingerprint of the HMAC key, to tell a wrong key from a miss."""
    return hmac.new(key, b"ariane-selfcheck-fingerprint", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Controller:
    """A controller as the public page and the messages name it."""

    controller_id: str
    name: str
    dpo_email: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"controller_id": self.controller_id, "name": self.name, "dpo_email": self.dpo_email}


def write_index(
    index_dir: Path,
    digests: list[tuple[bytes, int]],
    sealed: list[bytes],
    decoy: bytes,
    *,
    key: bytes,
    recipient: str,
    controllers: list[Controller],
) -> dict[str, Any]:
    """Write the three files of an index; return its manifest."""
    records = np.array(digests, dtype=RECORD)
    records.sort(order=["digest", "entry"])
    slot = 2 + max(len(blob) for blob in [*sealed, decoy])
    index_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (index_dir / DIGESTS).write_bytes(records.tobytes())
    with open(index_dir / CONTACTS, "wb") as handle:
        for blob in [*sealed, decoy]:
            handle.write(struct.pack("<H", len(blob)) + blob + b"\0" * (slot - 2 - len(blob)))
    manifest = {
        "format": FORMAT,
        "entries": len(sealed),
        "digests": len(records),
        "slot": slot,
        "hmac_fingerprint": fingerprint(key),
        "recipient": recipient,
        "controllers": [c.as_dict() for c in controllers],
    }
    (index_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def read_manifest(index_dir: Path) -> dict[str, Any]:
    """The manifest of an index directory, or a clear :class:`ConfigError`."""
    path = index_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{index_dir}: not a self-check index (no {MANIFEST})") from None
    except (OSError, ValueError):
        raise ConfigError(f"{path}: unreadable self-check manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{path}: unknown self-check index format")
    return manifest


class DigestIndex:
    """Sorted digests in memory: which entries an identifier digest points to.

    A binary search takes the same number of steps for a hit and a miss.
    """

    def __init__(self, index_dir: Path, key: bytes) -> None:
        self.manifest = read_manifest(index_dir)
        if fingerprint(key) != self.manifest["hmac_fingerprint"]:
            raise ConfigError(f"{index_dir}: the HMAC key given is not this index's key")
        raw = (index_dir / DIGESTS).read_bytes()
        if len(raw) != self.manifest["digests"] * RECORD.itemsize:
            raise ConfigError(f"{index_dir / DIGESTS}: truncated or altered")
        records = np.frombuffer(raw, dtype=RECORD)
        # Contiguous copies: a strided field view would be copied by every search.
        self._digests = np.ascontiguousarray(records["digest"])
        self._entries = np.ascontiguousarray(records["entry"])
        self.decoy = int(self.manifest["entries"])
        self.controllers = [Controller(**c) for c in self.manifest["controllers"]]

    def entries(self, digests: list[bytes]) -> list[int]:
        """Entry numbers matching any of ``digests`` (empty for a miss)."""
        found: set[int] = set()
        for digest in digests:
            key = np.array([digest], dtype=self._digests.dtype)
            low = int(np.searchsorted(self._digests, key, side="left")[0])
            high = int(np.searchsorted(self._digests, key, side="right")[0])
            found.update(self._entries[low:high].tolist())
        return sorted(found)


class ContactStore:
    """The sealed contact slots, read by the sender process only."""

    def __init__(self, index_dir: Path) -> None:
        manifest = read_manifest(index_dir)
        self.slot = int(manifest["slot"])
        self.count = int(manifest["entries"]) + 1  # with the decoy
        path = index_dir / CONTACTS
        # Mapped, not read: ~1.4 kB a person is 0.7 GB for the 2021 case; the page cache
        # keeps what is used, and a slot costs the same to reach for the decoy as for anyone.
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size != self.slot * self.count:
                raise ConfigError(f"{path}: truncated or altered")
            self._slots = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def sealed(self, entry: int) -> bytes:
        """The age ciphertext of entry ``entry`` (the last one is the decoy)."""
        start = entry * self.slot
        (length,) = struct.unpack_from("<H", self._slots, start)
        return self._slots[start + 2 : start + 2 + length]


def seal_plaintext(document: dict[str, Any]) -> bytes:
    """JSON of a contact document padded to :data:`SEALED_PLAINTEXT` bytes."""
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > SEALED_PLAINTEXT:
        raise ValueError("contact document too long to seal")
    return data + b" " * (SEALED_PLAINTEXT - len(data))
