"""What one check does, apart from HTTP: check the entry, count it, look it up, hand it over.

The same steps, in the same order, for a hit and for a miss: parse and normalise what was
typed, compute its digests, count it against the limits, search the digests (a binary
search), and hand one job to the sender (the matching entries, or the decoy). Nothing
here says whether it was a hit; only the sender, in another process, learns it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ariane.selfcheck import identifiers
from ariane.selfcheck.index import DigestIndex
from ariane.selfcheck.limits import Limiter, Limits

log = logging.getLogger("ariane.selfcheck")


class Refusal(Exception):
    """A check not accepted: the HTTP status and a French message saying what to do."""

    def __init__(
        self, status: int, message: str, field: str | None = None, retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field
        self.retry_after = retry_after


class SelfCheck:
    """The check itself, over an index, its HMAC key, the limits and the sender's queue."""

    def __init__(
        self,
        index: DigestIndex,
        key: bytes,
        limits: Limits,
        limiter: Limiter,
        submit: Callable[[list[int]], None],
    ) -> None:
        self.index, self._key, self.limits = index, key, limits
        self.limiter, self._submit = limiter, submit

    async def check(self, fields: dict[str, Any], client: str) -> None:
        """Accept one check from ``client`` (its IP), or raise :class:`Refusal`."""
        try:
            typed = identifiers.parse(fields)
        except identifiers.EntryError as exc:
            raise Refusal(400, exc.message, exc.field) from None
        digests = typed.digests(self._key)
        try:
            wait = await self.limiter.wait(self.limits.counters(client, digests))
        except Exception as exc:  # noqa: BLE001 - without counting, refuse (never unlimited)
            log.warning("rate limits cannot be counted (%s): checks refused", type(exc).__name__)
            raise Refusal(
                503, "Le service est momentanément indisponible : réessayez dans quelques minutes."
            ) from None
        if wait:
            minutes = max(1, (wait + 59) // 60)
            raise Refusal(
                429, f"Trop de demandes : réessayez dans {minutes} minute(s).", None, wait
            )
        # A miss hands the decoy over: the same call, the same size of job.
        self._submit(self.index.entries(digests) or [self.index.decoy])
