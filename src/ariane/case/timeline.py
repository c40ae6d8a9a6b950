"""The processor's chain of clocks: each controller's own 72 hours, and who is late.

A processor that finds a breach must tell each controller without undue delay
(art. 33(2)); each controller then has 72 hours from *its own* awareness, the moment the
processor told it, to notify the regulator (art. 33(1)), and must give the reasons for any
delay. When the organisation is itself the controller, its own awareness starts the clock.

Everything here is pure: the current time is an argument (``now``), never read from a
global clock, so that a test or a report can say what was overdue at a given moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ariane.assess.duties import NOTIFICATION_DELAY


@dataclass(frozen=True)
class ControllerClock:
    """One controller's clock: when told, its deadline, whether it is overdue."""

    controller_id: str
    informed_at: datetime | None
    aware_at: datetime | None  # when its own 72 hours started
    deadline: datetime | None  # None: not told yet, or no notification owed
    notified_at: datetime | None
    overdue: bool  # the deadline has passed and the regulator is not notified
    late: bool  # notified, but after the deadline

    def as_contract(self) -> dict[str, Any]:
        """The clock's fields of ``summary --json`` (ISO 8601 instants)."""
        return {
            "informed_at": _iso(self.informed_at),
            "deadline": _iso(self.deadline),
            "overdue": self.overdue,
            "notified_at": _iso(self.notified_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def controller_clock(
    controller_id: str,
    *,
    processor: bool,
    case_aware_at: datetime | None,
    informed_at: datetime | None,
    notified_at: datetime | None,
    notify_regulator: bool,
    now: datetime,
) -> ControllerClock:
    """The clock of one controller at ``now``.

    ``processor``: the organisation handling the case is the controllers' processor, so
    each controller's clock starts when it was told (``informed_at``); otherwise the
    organisation's own awareness (``case_aware_at``) starts it.
    """
    aware_at = informed_at if processor else (informed_at or case_aware_at)
    deadline = aware_at + NOTIFICATION_DELAY if aware_at is not None and notify_regulator else None
    overdue = deadline is not None and notified_at is None and now > deadline
    late = deadline is not None and notified_at is not None and notified_at > deadline
    return ControllerClock(
        controller_id, informed_at, aware_at, deadline, notified_at, overdue, late
    )


@dataclass(frozen=True)
class ProcessorDuty:
    """The processor's own duty: tell every controller concerned without undue delay."""

    aware_at: datetime | None
    informed: list[str]
    not_informed: list[str]
    waiting_since: str | None  # "3 days 4 h" since awareness, for those not told yet

    def as_contract(self) -> dict[str, Any]:
        """The duty as a JSON object."""
        return {
            "aware_at": _iso(self.aware_at),
            "informed": self.informed,
            "not_informed": self.not_informed,
        }


def processor_duty(
    aware_at: datetime | None, clocks: list[ControllerClock], now: datetime
) -> ProcessorDuty:
    """Which controllers the processor has told, which not yet, and for how long."""
    informed = [c.controller_id for c in clocks if c.informed_at is not None]
    waiting = [c.controller_id for c in clocks if c.informed_at is None]
    since = None
    if aware_at is not None and waiting and now > aware_at:
        hours = int((now - aware_at).total_seconds() // 3600)
        since = f"{hours // 24} j {hours % 24} h"
    return ProcessorDuty(aware_at, informed, waiting, since)
