"""The case after ``run``: facts set and shown, new report versions, encrypted exports.

A case lives for weeks after the leak is read: the processor tells each controller, each
controller notifies the regulator and gets a reference, facts are learnt and corrected.
Each function here opens a case, does one such thing and records it in the audit log; the
CLI calls one of them per command.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane import assess
from ariane.assess.facts import GRADING, catalogue, parse_fact, stored_facts
from ariane.case import Case
from ariane.case import facts as fact_log
from ariane.engine import Engine
from ariane.errors import ConfigError


def controller_ids(engine: Engine) -> list[str]:
    """The controllers of the case, in order."""
    if engine.has_table("attribute_controllers"):
        sql = "SELECT controller_id FROM attribute_controllers ORDER BY controller_id"
    elif engine.has_table("assess_controllers"):
        sql = "SELECT controller_id FROM assess_controllers ORDER BY controller_id"
    else:
        return []
    return [str(row[0]) for row in engine.fetch(sql)]


def facts_document(engine: Engine) -> dict[str, Any]:
    """Every fact of the case and of each controller; unknown ones are None."""
    stated = stored_facts(engine).stated()
    return {
        "case": {name: stated.get((None, name)) for name in catalogue(controller=False)},
        "controllers": {
            controller_id: {
                name: stated.get((controller_id, name)) for name in catalogue(controller=True)
            }
            for controller_id in controller_ids(engine)
        },
    }


def show_facts(case_dir: Path) -> dict[str, Any]:
    """The ``facts show --json`` document of a case."""
    with Case.open(case_dir) as case:
        document = facts_document(case.engine())
        case.record("facts show")
    return document


def parse_assignments(assignments: list[str], controller: str | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as typed values; the first bad one raises :class:`ConfigError`."""
    if not assignments:
        raise ConfigError("facts set: give at least one NAME=VALUE")
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{name.strip() or assignment!r}: expected NAME=VALUE")
        values[name.strip()] = parse_fact(name.strip(), text, controller=controller is not None)
    return values


def set_facts(
    case_dir: Path, assignments: list[str], controller: str | None = None
) -> list[fact_log.Change]:
    """Record facts of the case or of one controller; audited; regrade when they matter.

    Every assignment is checked before anything is written: one bad name, value or
    controller id changes nothing.
    """
    values = parse_assignments(assignments, controller)
    with Case.open(case_dir) as case:
        engine = case.engine()
        if controller is not None and controller not in controller_ids(engine):
            raise ConfigError(f"--controller {controller}: no such controller in this case")
        changes = fact_log.record(
            engine, {(controller, name): value for name, value in values.items()}, "facts set"
        )
        regraded = controller is None and any(c.name in GRADING for c in changes)
        if regraded and engine.has_table("assess_controllers"):
            assess.assess(engine)
        case.record(
            "facts set",
            {"controller": controller, "names": sorted(values)},
            outcome={"changes": [c.as_dict() for c in changes], "regraded": regraded},
        )
    return changes


def now_or(moment: datetime | None) -> datetime:
    """``moment``, or the current time when none is given (the edge's clock)."""
    return moment if moment is not None else datetime.now(UTC)
