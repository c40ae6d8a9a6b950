"""The case's fact log: every fact ever set, with when and by what, in the encrypted store.

A fact is a name and a typed value (text, boolean, ISO-8601 instant), for the case
(``controller_id`` NULL) or for one controller. Nothing is overwritten: each change is a new
row of ``case_fact_log``, so a later report can say what changed since an earlier one. The
names and types are :mod:`ariane.assess.facts`'s; this module only keeps values::

    case_fact_log   seq INTEGER, controller_id VARCHAR (NULL: the case), name VARCHAR,
                    value VARCHAR (JSON; null unsets), changed_at TIMESTAMPTZ, source VARCHAR
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ariane.engine import Engine

TABLE = "case_fact_log"

#: A fact's place: (controller id, or None for the case; fact name).
Key = tuple[str | None, str]


@dataclass(frozen=True)
class Change:
    """One fact changed: where, from what, to what (None: unknown)."""

    controller_id: str | None
    name: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        """The change as the audit log and the JSON documents give it."""
        return {
            "controller_id": self.controller_id,
            "name": self.name,
            "old": self.old,
            "new": self.new,
        }


def _ensure(engine: Engine) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (seq INTEGER, controller_id VARCHAR, "
        "name VARCHAR, value VARCHAR, changed_at TIMESTAMPTZ, source VARCHAR)"
    )


def current(engine: Engine, *, unset: bool = False) -> dict[Key, Any]:
    """Every fact's latest value; facts unset since are absent (None with ``unset``)."""
    if not engine.has_table(TABLE):
        return {}
    rows = engine.fetch(
        f"SELECT controller_id, name, arg_max(value, seq) FROM {TABLE} GROUP BY ALL"
    )
    values = {(controller_id, name): json.loads(value) for controller_id, name, value in rows}
    return values if unset else {k: v for k, v in values.items() if v is not None}


def changes(before: dict[Key, Any], after: dict[Key, Any]) -> list[Change]:
    """What differs between two sets of facts, in a stable order."""
    keys = sorted(set(before) | set(after), key=lambda k: (k[0] or "", k[1]))
    return [
        Change(k[0], k[1], before.get(k), after.get(k))
        for k in keys
        if before.get(k) != after.get(k)
    ]


def record(
    engine: Engine, values: dict[Key, Any], source: str, at: datetime | None = None
) -> list[Change]:
    """Set each fact of ``values`` (None unsets it); keep only real changes; return them."""
    _ensure(engine)
    now = current(engine)
    found = [
        Change(key[0], key[1], now.get(key), value)
        for key, value in values.items()
        if now.get(key) != value
    ]
    if not found:
        return []
    seq = int(engine.fetch(f"SELECT coalesce(max(seq), -1) + 1 FROM {TABLE}")[0][0])
    moment = at or datetime.now(UTC)
    for number, change in enumerate(found):
        engine.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            [
                seq + number,
                change.controller_id,
                change.name,
                json.dumps(change.new, ensure_ascii=False),
                moment,
                source,
            ],
        )
    return found
