"""Rate limits of the self-check: per client IP, per identifier digest, and overall.

Fixed windows: a counter per key starts at the first request and expires after its window.
With Redis, every counter of a request is incremented in one Lua script (atomic, one round
trip), so several server processes share the limits; without Redis an in-process table does
the same for one process. Counters are keyed by a hash of the digest, never an identifier.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ariane.errors import ConfigError

# KEYS: counters; ARGV: limit and window (seconds) of each key in turn.
# Returns 0 when every counter is within its limit, else the seconds until the first
# exceeded counter expires.
_SCRIPT = """
local wait = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  local window = tonumber(ARGV[2 * i])
  if n == 1 then redis.call('EXPIRE', key, window) end
  if n > tonumber(ARGV[2 * i - 1]) and wait == 0 then
    wait = redis.call('TTL', key)
    if wait < 1 then wait = 1 end
  end
end
return wait
"""


@dataclass(frozen=True)
class Limit:
    """At most ``count`` requests per ``window`` seconds."""

    count: int
    window: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``'20/600'`` -> 20 requests per 600 seconds."""
        count, _, window = text.partition("/")
        try:
            limit = cls(int(count), int(window))
        except ValueError:
            raise ConfigError(f"limit {text!r}: expected COUNT/SECONDS, e.g. 20/600") from None
        if limit.count < 1 or limit.window < 1:
            raise ConfigError(f"limit {text!r}: count and seconds must be positive")
        return limit


@dataclass(frozen=True)
class Limits:
    """The three limits of the service (defaults fit a public page)."""

    ip: Limit = Limit(20, 600)
    identifier: Limit = Limit(5, 86_400)
    overall: Limit = Limit(100_000, 3_600)
    prefix: str = "ariane:sc"

    def counters(self, ip: str, digests: list[bytes]) -> list[tuple[str, Limit]]:
        """The counters one request increments."""
        keyed = [(f"{self.prefix}:all", self.overall), (f"{self.prefix}:ip:{ip}", self.ip)]
        for digest in digests:
            # A hash of the digest: the limiter's store never holds an index digest.
            name = hashlib.sha256(b"ariane-selfcheck-limit" + digest).hexdigest()[:32]
            keyed.append((f"{self.prefix}:id:{name}", self.identifier))
        return keyed


class Limiter(Protocol):
    """Counts requests; says how long to wait when a limit is exceeded."""

    async def wait(self, counters: list[tuple[str, Limit]]) -> int:
        """Count one request on each counter; 0 if all are within limits, else seconds."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryLimiter:
    """Fixed windows in this process's memory (one server process only)."""

    _PURGE_AT = 100_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counters: dict[str, tuple[float, int]] = {}

    async def wait(self, counters: list[tuple[str, Limit]]) -> int:
        """See :meth:`Limiter.wait` (no await inside: atomic under asyncio)."""
        now = self._clock()
        if len(self._counters) > self._PURGE_AT:
            self._counters = {k: v for k, v in self._counters.items() if v[0] > now}
        wait = 0
        for key, limit in counters:
            expires, count = self._counters.get(key, (0.0, 0))
            if expires <= now:
                expires, count = now + limit.window, 0
            count += 1
            self._counters[key] = (expires, count)
            if count > limit.count and not wait:
                wait = max(1, int(expires - now + 0.999))
        return wait

    async def close(self) -> None:
        """Nothing to release."""


_UNREACHABLE = "--redis: cannot reach the Redis server at the URL given"


class RedisLimiter:
    """Fixed windows in Redis, all counters of a request in one atomic script.

    Requests waiting at the same moment share one round trip: their scripts go in one
    pipeline (each script stays atomic), which roughly halves the client's CPU per check
    under load.
    """

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._client = redis.from_url(url)
        self._script = self._client.register_script(_SCRIPT)
        self._pending: list[tuple[list[str], list[int], asyncio.Future[int]]] = []
        self._flushes: set[asyncio.Task[None]] = set()

    async def ping(self) -> None:
        """Fail early, with a clear message, when Redis cannot be reached."""
        import redis.exceptions

        try:
            await self._client.ping()
        except (redis.exceptions.RedisError, OSError):
            raise ConfigError(_UNREACHABLE) from None

    @staticmethod
    def check_reachable(url: str) -> None:
        """The same check, before any server starts (a bad URL is one line, not a trace)."""
        import redis
        import redis.exceptions

        try:
            redis.Redis.from_url(url, socket_connect_timeout=3).ping()
        except (redis.exceptions.RedisError, OSError, ValueError):
            raise ConfigError(_UNREACHABLE) from None

    async def wait(self, counters: list[tuple[str, Limit]]) -> int:
        """See :meth:`Limiter.wait`."""
        keys = [key for key, _ in counters]
        args: list[int] = []
        for _, limit in counters:
            args += [limit.count, limit.window]
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int] = loop.create_future()
        self._pending.append((keys, args, answer))
        if len(self._pending) == 1:
            # Flush once the requests already runnable have queued theirs.
            loop.call_soon(self._flush)
        return await answer

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _send(self, batch: list[tuple[list[str], list[int], asyncio.Future[int]]]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, args, _ in batch:
                    await self._script(keys=keys, args=args, client=pipe)
                results = await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
            for *_, answer in batch:
                if not answer.done():
                    answer.set_exception(exc)
            return
        for (*_, answer), result in zip(batch, results, strict=True):
            if not answer.done():
                answer.set_result(int(result))

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
