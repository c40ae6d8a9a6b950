"""One error hierarchy for Ariane.

Every message says *where* (file, line, byte offset, column) and never *what*: no NIR, name
or health fact from the data may appear in an error. A message is always one printable line:
file names in it are escaped (:func:`ariane.display.printable`).

    ArianeError                     anything Ariane reports to a user (exit code 1..)
    ├── InputError                  an input file cannot be read at all
    │   └── UnsafeInputError        an input trips a safety limit (zip bomb, depth, size)
    ├── CaseError                   a case directory is missing, damaged or locked
    │   ├── CaseKeyError            wrong or missing key for an encrypted case
    │   └── AuditError              the audit log's hash chain is broken
    ├── StageNotBuiltError          a command asks for a stage that does not exist yet
    └── ConfigError                 a bad option, registry or facts file
"""

from __future__ import annotations

from ariane.display import printable


class ArianeError(Exception):
    """Base of every error Ariane reports to a user; its message is safe to print."""

    exit_code = 1

    def __str__(self) -> str:
        # Messages name files, and a file name is written by whoever made the leak: one
        # line, no control character, whatever it holds (see ariane.display).
        return printable(super().__str__())


class InputError(ArianeError):
    """An input file cannot be read; the message names the file and the place."""

    exit_code = 2


class UnsafeInputError(InputError):
    """An input trips a safety limit (expansion ratio, total size, nesting depth)."""


class CaseError(ArianeError):
    """A case directory is missing, damaged or cannot be opened."""

    exit_code = 3


class CaseKeyError(CaseError):
    """The key for an encrypted case is missing or wrong."""


class AuditError(CaseError):
    """The audit log of a case does not verify."""


class StageNotBuiltError(ArianeError):
    """A command needs a stage that is not built yet."""

    exit_code = 4


class ConfigError(ArianeError):
    """A bad option, registry or facts file."""

    exit_code = 2


def wrapped(error: BaseException) -> ArianeError | None:
    """Ariane's own error that a library raised its own error from, if any (Splink turns
    every failed statement into a ``SplinkException`` raised from the engine's error)."""
    cause: BaseException | None = error
    for _ in range(16):  # a chain, not a loop: bounded all the same
        if cause is None or isinstance(cause, ArianeError):
            return cause
        cause = cause.__cause__
    return None
