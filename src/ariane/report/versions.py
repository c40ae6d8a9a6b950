"""Report versions: each ``report`` writes ``report/vN`` and never overwrites an earlier one.

A controller's first version is its initial notification; every later one is a
complementary notification that names it (its version and the CNIL's reference, once the
controller has one) and lists what changed since: facts, and the counts of its file.

Each version keeps a snapshot in the encrypted store (table ``report_versions``: version,
written_at, audit_head, facts JSON, controllers JSON) so the next one can be compared.
Every page and JSON file of a version carries its provenance: case id, Ariane version,
the inputs' SHA-256 and the audit log's head when it was written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from ariane import __version__

if TYPE_CHECKING:
    from ariane.engine import Engine
    from ariane.report.figures import CaseFigures

TABLE = "report_versions"
_FOLDER = re.compile(r"^v(\d+)$")
#: Counts of a controller compared between versions.
COMPARED = ("records", "persons", "severity", "persons_to_notify")


@dataclass(frozen=True)
class Snapshot:
    """What an earlier version said: its facts and each controller's counts."""

    version: int
    facts: dict[tuple[str | None, str], Any]
    controllers: dict[str, dict[str, Any]]


@dataclass
class Edition:
    """Which version is being written, from which case, and the versions before it."""

    version: int = 1
    case_id: str | None = None
    audit_head: str | None = None
    inputs: list[dict[str, str]] = field(default_factory=list)
    earlier: list[Snapshot] = field(default_factory=list)

    def provenance(self, generated_at: datetime) -> dict[str, Any]:
        """The block every page and JSON file of this version carries."""
        return {
            "case_id": self.case_id,
            "ariane_version": __version__,
            "report_version": self.version,
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "audit_head": self.audit_head,
            "inputs": self.inputs,
        }

    def initial_of(self, controller_id: str) -> Snapshot | None:
        """The earliest version that held this controller (its initial notification)."""
        return next((s for s in self.earlier if controller_id in s.controllers), None)


def next_version(engine: Engine, report_dir: Path) -> int:
    """One more than any version kept in the store or found on disk."""
    kept = 0
    if engine.has_table(TABLE):
        kept = int(engine.fetch(f"SELECT coalesce(max(version), 0) FROM {TABLE}")[0][0])
    on_disk = [
        int(m.group(1))
        for p in (report_dir.iterdir() if report_dir.is_dir() else [])
        if (m := _FOLDER.match(p.name))
    ]
    return max([kept, *on_disk]) + 1


def earlier_versions(engine: Engine) -> list[Snapshot]:
    """Every version kept, oldest first."""
    if not engine.has_table(TABLE):
        return []
    return [
        Snapshot(
            int(version),
            {(k[0], k[1]): v for k, v in json.loads(facts)},
            json.loads(controllers),
        )
        for version, facts, controllers in engine.fetch(
            f"SELECT version, facts, controllers FROM {TABLE} ORDER BY version"
        )
    ]


def keep_version(engine: Engine, edition: Edition, figures: CaseFigures) -> None:
    """Keep this version's snapshot, for the next one to compare with."""
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (version INTEGER, written_at TIMESTAMPTZ, "
        "audit_head VARCHAR, facts VARCHAR, controllers VARCHAR)"
    )
    facts = [[list(key), value] for key, value in figures.facts.stated().items()]
    controllers = {
        c.controller_id: {name: getattr(c, name) for name in COMPARED} for c in figures.controllers
    }
    engine.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?)",
        [
            edition.version,
            figures.generated_at,
            edition.audit_head,
            json.dumps(facts, ensure_ascii=False),
            json.dumps(controllers, ensure_ascii=False),
        ],
    )


def changes_since(
    initial: Snapshot, figures: CaseFigures, controller_id: str
) -> list[dict[str, Any]]:
    """What changed for one controller since its initial version: facts, then counts."""
    from ariane.case.facts import changes

    def mine(values: dict[tuple[str | None, str], Any]) -> dict[tuple[str | None, str], Any]:
        return {k: v for k, v in values.items() if k[0] in (None, controller_id)}

    found = [
        {"scope": "case" if c.controller_id is None else "controller", **c.as_dict()}
        for c in changes(mine(initial.facts), mine(figures.facts.stated()))
    ]
    for c in found:
        c.pop("controller_id")
    before = initial.controllers.get(controller_id, {})
    now = next((c for c in figures.controllers if c.controller_id == controller_id), None)
    for name in COMPARED:
        old, new = before.get(name), getattr(now, name, None)
        if old != new:
            found.append({"scope": "figures", "name": name, "old": old, "new": new})
    return found


def inputs_of_run(audit_log: Path) -> list[dict[str, str]]:
    """The file names and SHA-256 of the inputs of the case's ``run`` (from its audit log).

    Only the file's own name: a folder may name the user's machine or a person.
    """
    if not audit_log.exists():
        return []
    with open(audit_log, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            if entry.get("command") == "run":
                return [
                    {"name": PurePath(i["path"]).name, "sha256": i["sha256"]}
                    for i in entry.get("inputs", [])
                ]
    return []
