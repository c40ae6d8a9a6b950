"""Where a case's key comes from.

Either a passphrase in ``ARIANE_KEY``, stretched with scrypt and the case's own random salt,
or, when that is unset, a random 256-bit key in a file kept *outside* the case directory
(mode 0600) so that the directory alone never opens.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ariane.errors import CaseError, CaseKeyError

PASSPHRASE_VARIABLE = "ARIANE_KEY"
KEY_DIR_VARIABLE = "ARIANE_KEY_DIR"

# scrypt cost: ~0.1 s and 64 MiB on a laptop; enough against guessing, cheap per command.
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16


@dataclass(frozen=True)
class KeySpec:
    """How a case's key is obtained, as recorded (without any secret) in the case."""

    source: str  # "passphrase" or "keyfile"
    salt: str  # hex, for "passphrase"
    key_file: str  # absolute path, for "keyfile"

    def as_dict(self) -> dict[str, object]:
        """Record for case.json: no secret, only where the secret comes from."""
        spec: dict[str, object] = {"source": self.source}
        if self.source == "passphrase":
            spec.update(kdf="scrypt", n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, salt=self.salt)
        else:
            spec["key_file"] = self.key_file
        return spec

    @classmethod
    def from_dict(cls, spec: object, source: Path | str = "case.json") -> KeySpec:
        """Read back what :meth:`as_dict` wrote (``source`` names the file in errors)."""
        if not isinstance(spec, dict):
            raise CaseError(f"{source}: the key entry is damaged")
        read = cls(
            source=str(spec.get("source", "")),
            salt=str(spec.get("salt", "")),
            key_file=str(spec.get("key_file", "")),
        )
        if read.source == "passphrase" and not _is_salt(read.salt):
            # A damaged salt would derive a wrong key, reported as a wrong passphrase.
            raise CaseError(f"{source}: the key salt is damaged (expected {SALT_BYTES * 2} hex)")
        return read


def default_key_dir() -> Path:
    """Folder of key files: ``ARIANE_KEY_DIR`` or ~/.local/share/ariane/keys."""
    configured = os.environ.get(KEY_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "ariane" / "keys"


def new_key_spec(case_id: str, case_dir: Path) -> KeySpec:
    """Choose the key source for a new case (and create its key file if needed)."""
    if os.environ.get(PASSPHRASE_VARIABLE):
        return KeySpec("passphrase", secrets.token_hex(SALT_BYTES), "")
    key_dir = default_key_dir().resolve()
    if _is_within(key_dir, case_dir.resolve()):
        raise CaseKeyError(f"{key_dir}: the key folder must be outside the case directory")
    key_file = key_dir / f"{case_id}.key"
    try:
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    except OSError as exc:
        raise CaseKeyError(
            f"{key_dir}: cannot write the case's key file ({exc.strerror}); "
            f"set {KEY_DIR_VARIABLE} to a private folder outside the case"
        ) from None
    return KeySpec("keyfile", "", str(key_file))


def derive_key(spec: KeySpec) -> str:
    """The database key (hex) for a case, from its passphrase or key file."""
    if spec.source == "passphrase":
        passphrase = os.environ.get(PASSPHRASE_VARIABLE)
        if not passphrase:
            raise CaseKeyError(
                f"this case is encrypted with a passphrase: set {PASSPHRASE_VARIABLE}"
            )
        raw = hashlib.scrypt(
            passphrase.encode("utf-8"),
            salt=bytes.fromhex(spec.salt),
            n=SCRYPT_N,
            r=SCRYPT_R,
            p=SCRYPT_P,
            maxmem=256 * 1024 * 1024,
            dklen=32,
        )
        return raw.hex()
    if spec.source == "keyfile":
        path = Path(spec.key_file)
        try:
            key = path.read_text().strip()
        except OSError:
            raise CaseKeyError(f"{path}: key file of this case not found") from None
        if len(key) != 64:
            raise CaseKeyError(f"{path}: not an Ariane key file")
        return key
    raise CaseKeyError(f"unknown key source {spec.source!r} in case.json")


def _is_salt(text: str) -> bool:
    try:
        return len(bytes.fromhex(text)) >= SALT_BYTES
    except ValueError:
        return False


def _is_within(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents
