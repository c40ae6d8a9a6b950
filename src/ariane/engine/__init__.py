"""How to run, apart from what to compute.

The stages speak only to an :class:`Engine`: register a table, run SQL (DuckDB dialect),
materialise a query as a table, append Arrow batches, register a vectorised function.
DuckDB is the engine on a laptop; a Spark engine can implement the same protocol later
without any stage changing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class Engine(Protocol):
    """The small interface every stage uses to compute on tables."""

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table under ``name`` for the next queries."""

    def unregister(self, name: str) -> None:
        """Forget a table registered with :meth:`register`."""

    def append(self, name: str, table: pa.Table) -> None:
        """Append Arrow rows to the stored table ``name``, creating it from their schema."""

    def hold(self, name: str, table: pa.Table) -> bool:
        """Keep Arrow rows as more rows of ``name`` as they are, without storing them, if
        this engine can (a throw-away database with room); False: :meth:`append` them."""

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement for its effect."""

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows (small results only)."""

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""

    def batches(self, sql: str, batch_rows: int = 100_000) -> Any:
        """Run a query and stream its result as Arrow record batches."""

    def materialise(self, name: str, sql: str) -> None:
        """Store the result of ``sql`` as table ``name`` (replacing it)."""

    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        parameters: Sequence[str],
        returns: str,
    ) -> None:
        """Register a vectorised function: it takes Arrow arrays and returns one."""

    def splink_api(self) -> Any:
        """Splink's database API (``splink.DuckDBAPI`` or its peer) over this engine."""

    def tables(self) -> list[str]:
        """Names of the stored tables."""

    def has_table(self, name: str) -> bool:
        """Whether a stored table ``name`` exists."""

    def beside(self) -> AbstractContextManager[Engine]:
        """A handle on the same tables for queries run from another thread meanwhile."""

    def close(self) -> None:
        """Release the engine's resources."""
