"""The open case behind the web application: one engine, one lock, figures kept warm.

The case's DuckDB store is opened once for the server's life (DuckDB lets one process hold
it; ``ariane facts set`` and the like wait until the server stops, and the application
offers the same changes). Every query goes through :meth:`CaseData.locked`, one at a time,
on the one connection. Counts are computed once and again only after a change made here
or when ``ttl`` has passed (deadlines move with the clock).

Affected persons are gathered once at start into an in-memory table, one row per
(controller, person), numbered in (controller, person) order: a controller's persons are
one range of that number, and page N of its list a sub-range, read without sorting or
scanning the other controllers' rows. Grades are
joined at read time: a fact that regrades the case is seen at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ariane import followup, pipeline
from ariane.case import Case
from ariane.engine.duckdb import DuckDBEngine
from ariane.report import figures as report_figures
from ariane.report.figures import CaseFigures

PERSONS = "serve_persons"
PAGE_SIZE = 50
#: The person-level fields of a row (all of them personal data).
PERSON_FIELDS = followup.EXPORT_COLUMNS
#: What a search may match: a name's start, or an identifier or contact exactly.
_SEARCH = (
    "(p.last_key LIKE ? OR p.first_key LIKE ? "
    "OR CAST(p.person_id AS VARCHAR) = ? OR p.nir = ? OR lower(p.email) = ? OR p.phone = ?)"
)

#: The name a source is shown under: the member of an archive, else the file.
_FILE = "coalesce(CAST(s.inner_path AS VARCHAR), CAST(s.path AS VARCHAR))"


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, which page, how many in all."""

    rows: list[dict[str, Any]]
    page: int
    pages: int
    total: int


class CaseData:
    """Read and change one open case on behalf of the web application's users."""

    def __init__(self, case: Case, ttl: float = 30.0) -> None:
        """Hold ``case`` open; build the persons table (a few seconds on a large case)."""
        self.case = case
        self.ttl = ttl
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[float, Any]] = {}
        engine = self.engine
        self.ready = engine.has_table("assess_exposure") and engine.has_table("resolve_records")
        if self.ready:
            engine.execute(
                f"CREATE OR REPLACE TEMP TABLE {PERSONS} AS SELECT *, row_number() OVER "
                "(ORDER BY controller_id, person_id) AS k, "
                "strip_accents(lower(last_name)) AS last_key, "
                "strip_accents(lower(first_name)) AS first_key "
                f"FROM ({followup.persons_sql()}) ORDER BY k"
            )
        #: Each controller's rows: the first ``k`` and how many (its persons, in order).
        self.spans: dict[str, tuple[int, int]] = {}
        if self.ready:
            rows = engine.fetch(
                f"SELECT controller_id, min(k), count(*) FROM {PERSONS} GROUP BY controller_id"
            )
            self.spans = {str(cid): (int(first), int(count)) for cid, first, count in rows}
        self.controller_ids = followup.controller_ids(engine)

    @property
    def engine(self) -> DuckDBEngine:
        """The case's engine (use under :meth:`locked`)."""
        return self.case.engine()

    @contextmanager
    def locked(self) -> Iterator[DuckDBEngine]:
        """The engine, for this thread alone until the block ends."""
        with self._lock:
            yield self.engine

    def cached(self, name: str, compute: Any) -> Any:
        """``compute()``, kept ``ttl`` seconds or until a change made here."""
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
            value = compute()
            self._cache[name] = (time.monotonic(), value)
            return value

    def changed(self) -> None:
        """Forget every cached figure (a fact changed)."""
        with self._lock:
            self._cache.clear()

    # -- counts ------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The ``summary --json`` document (without provenance), kept ``ttl`` seconds."""

        def compute() -> dict[str, Any]:
            document = pipeline.summarise(self.engine, datetime.now(UTC))
            names = dict(self.engine.fetch("SELECT controller_id, name FROM attribute_controllers"))
            counts = {
                row[0]: (int(row[1]), int(row[2]))
                for row in self.engine.fetch(
                    "SELECT controller_id, records, persons FROM assess_controllers"
                )
            }
            for controller in document.get("controllers") or []:
                cid = controller["controller_id"]
                controller.setdefault("name", names.get(cid, ""))
                records, persons = counts.get(cid, (0, 0))
                controller.setdefault("records", records)
                controller.setdefault("persons", persons)
            return document

        return json.loads(json.dumps(self.cached("summary", compute), default=str))

    def figures(self) -> CaseFigures:
        """Every figure of the report (as ``ariane report`` collects them)."""
        return self.cached(
            "figures", lambda: report_figures.collect(self.engine, datetime.now(UTC))
        )

    def versions(self) -> list[tuple[int, str]]:
        """The report versions written: (number, when)."""
        with self.locked() as engine:
            if not engine.has_table("report_versions"):
                return []
            rows = engine.fetch("SELECT version, written_at FROM report_versions ORDER BY 1")
        return [(int(v), str(at)) for v, at in rows]

    # -- persons -----------------------------------------------------------------------

    def persons(self, controller_id: str, page: int, query: str | None = None) -> Page:
        """Page ``page`` (from 1) of a controller's affected persons; ``query`` filters."""
        first, count = self.spans.get(controller_id, (0, 0))
        if not count:
            return Page([], 1, 1, 0)
        # Rows of a controller are one range of k: the scan skips every other block.
        mine = "p.k BETWEEN ? AND ?"
        bounds = [first, first + count - 1]
        select = f"SELECT {', '.join(f'p.{c}' for c in PERSON_FIELDS[:-2])}, p.records, g.band "
        select += f"FROM {PERSONS} p JOIN assess_grades g USING (exposure) WHERE "
        with self.locked() as engine:
            if query:
                term = query.strip().lower()
                args = [*bounds, f"{_folded(term)}%", f"{_folded(term)}%"]
                args += [query.strip(), query.strip(), term, query.strip()]
                # One scan: the page and, beside each row, how many matched in all.
                sql = f"{select}{mine} AND {_SEARCH} ORDER BY p.k LIMIT ? OFFSET ?"
                sql = sql.replace(" FROM ", ", count(*) OVER () FROM ", 1)
                rows = engine.fetch(sql, [*args, PAGE_SIZE, (page - 1) * PAGE_SIZE])
                if not rows and page > 1:  # past the last page: show the last one
                    total = int(
                        engine.fetch(
                            f"SELECT count(*) FROM {PERSONS} p WHERE {mine} AND {_SEARCH}", args
                        )[0][0]
                    )
                    page = _clamp(page, total)
                    rows = engine.fetch(sql, [*args, PAGE_SIZE, (page - 1) * PAGE_SIZE])
                total = int(rows[0][-1]) if rows else 0
                rows = [row[:-1] for row in rows]
            else:
                total = count
                page = _clamp(page, total)
                start = first + (page - 1) * PAGE_SIZE
                rows = engine.fetch(
                    f"{select}{mine} ORDER BY p.k",
                    [start, min(start + PAGE_SIZE, first + count) - 1],
                )
        found = [dict(zip(PERSON_FIELDS, (_plain(v) for v in row), strict=True)) for row in rows]
        return Page(found, page, max(1, -(-total // PAGE_SIZE)), total)

    def export_rows(self, controller_id: str) -> list[tuple[Any, ...]]:
        """Every affected person of a controller, in export order."""
        first, count = self.spans.get(controller_id, (0, 0))
        columns = ", ".join(f"p.{c}" for c in PERSON_FIELDS[:-2])
        with self.locked() as engine:
            return engine.fetch(
                f"SELECT {columns}, p.records, g.band FROM {PERSONS} p "
                "JOIN assess_grades g USING (exposure) WHERE p.k BETWEEN ? AND ? ORDER BY p.k",
                [first, first + count - 1],
            )

    # -- columns and quarantine --------------------------------------------------------

    def columns(self) -> list[dict[str, Any]]:
        """Every column read, with its label (no value)."""
        with self.locked() as engine:
            if not engine.has_table("classify_columns"):
                return []
            rows = engine.fetch(
                f"SELECT c.source_id, {_FILE}, c.column_name, c.label, "
                "c.confidence, c.match_rate, c.null_rate, c.special "
                "FROM classify_columns c LEFT JOIN read_sources s USING (source_id) "
                "ORDER BY c.source_id, c.column_name"
            )
        keys = ("source_id", "file", "column", "label", "confidence", "match_rate", "null_rate")
        return [
            {**dict(zip(keys, row[:7], strict=True)), "special": bool(row[7]), "index": n}
            for n, row in enumerate(rows)
        ]

    def column_example(self, index: int) -> str | None:
        """The first non-empty value of the ``index``-th column (personal data: audit it)."""
        columns = self.columns()
        if not 0 <= index < len(columns):
            return None
        column = columns[index]
        with self.locked() as engine:
            table = engine.fetch(
                "SELECT data_table FROM read_sources WHERE source_id = ?", [column["source_id"]]
            )
            if not table or not table[0][0] or not engine.has_table(str(table[0][0])):
                return None
            name = str(column["column"]).replace('"', '""')
            found = engine.fetch(
                f'SELECT "{name}" FROM "{table[0][0]}" WHERE "{name}" IS NOT NULL '
                f"AND trim(CAST(\"{name}\" AS VARCHAR)) <> '' LIMIT 1"
            )
        return str(found[0][0]) if found else None

    def quarantine(self, limit: int = 500) -> list[dict[str, Any]]:
        """The first ``limit`` records quarantined: where and why (never their content)."""
        with self.locked() as engine:
            if not engine.has_table("read_quarantine"):
                return []
            rows = engine.fetch(
                "SELECT row_number() OVER (ORDER BY q.source_id, q.record) - 1, "
                f"{_FILE}, q.record, q.line, q.reason "
                "FROM read_quarantine q LEFT JOIN read_sources s USING (source_id) "
                "ORDER BY q.source_id, q.record LIMIT ?",
                [limit],
            )
        keys = ("index", "file", "record", "line", "reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def quarantined_raw(self, index: int) -> str | None:
        """The raw text of the ``index``-th quarantined record (personal data: audit it)."""
        with self.locked() as engine:
            if not engine.has_table("read_quarantine"):
                return None
            found = engine.fetch(
                "SELECT raw FROM read_quarantine ORDER BY source_id, record LIMIT 1 OFFSET ?",
                [max(index, 0)],
            )
        if not found or index < 0:
            return None
        raw = found[0][0]
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)

    # -- the audit log -----------------------------------------------------------------

    def record(self, command: str, arguments: dict[str, Any], outcome: dict[str, Any]) -> None:
        """Append to the case's hash-chained audit log."""
        with self._lock:
            self.case.record(command, arguments, outcome=outcome, checkpoint=False)

    def audit_entries(self, page: int, size: int = 100) -> Page:
        """The audit log, newest first (only the page's entries are parsed)."""
        with self._lock:
            lines = [
                line
                for line in self.case.audit_path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        page = _clamp(page, len(lines), size)
        newest = len(lines) - (page - 1) * size
        chosen = [json.loads(line) for line in reversed(lines[max(0, newest - size) : newest])]
        return Page(chosen, page, max(1, -(-len(lines) // size)), len(lines))

    # -- changes -----------------------------------------------------------------------

    def set_facts(self, controller_id: str, assignments: list[str], user_id: int) -> list[Any]:
        """``ariane facts set --controller`` on behalf of a web user (audited there)."""
        with self._lock:
            changes = followup.record_facts(
                self.case, assignments, controller_id, by={"user_id": user_id, "via": "serve"}
            )
            self.changed()
        return changes

    def notice_batch(self, database: Any, controller_id: str) -> dict[str, Any] | None:
        """The controller's batch of notices and its approval (:func:`ariane.notify.batch_of`)."""
        from ariane import notify

        with self.locked() as engine:
            return notify.batch_of(engine, database, controller_id)

    def approve_notices(self, database: Any, controller_id: str, user_id: int) -> dict[str, Any]:
        """``ariane notify approve`` on behalf of a web user (audited there, with the user)."""
        from ariane import notify

        with self._lock:
            result = notify.approve(self.case, database, controller_id, f"user:{user_id}", user_id)
            self.changed()
        return result


def _clamp(page: int, total: int, size: int = PAGE_SIZE) -> int:
    return min(max(page, 1), max(1, -(-total // size)))


def _folded(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("%", "").replace("_", "")


def _plain(value: Any) -> Any:
    """A JSON-ready value (dates as ISO text)."""
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
