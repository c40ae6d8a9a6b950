"""Each controller's clock (art. 33(2) then 33(1)), judged at an injected moment."""

from datetime import datetime, timedelta

from ariane.case.timeline import controller_clock, processor_duty

AWARE = datetime.fromisoformat("2021-02-23T10:00:00+01:00")
TOLD = AWARE + timedelta(days=2)


def _clock(now_days: float, **given):
    options = {
        "processor": True,
        "case_aware_at": AWARE,
        "informed_at": None,
        "notified_at": None,
        "notify_regulator": True,
    }
    options.update(given)
    return controller_clock("LAB01", now=AWARE + timedelta(days=now_days), **options)


def test_a_processors_controller_has_no_clock_until_told():
    clock = _clock(30)
    assert clock.deadline is None and clock.overdue is False and clock.aware_at is None


def test_the_clock_starts_when_the_controller_is_told():
    clock = _clock(4, informed_at=TOLD)
    assert clock.deadline == TOLD + timedelta(hours=72)
    assert clock.overdue is False
    assert _clock(5.01, informed_at=TOLD).overdue is True  # day 5 + a quarter hour
    assert _clock(5, informed_at=TOLD).overdue is False  # exactly at the deadline: not yet


def test_notified_is_never_overdue_but_may_be_late():
    on_time = _clock(9, informed_at=TOLD, notified_at=TOLD + timedelta(days=1))
    assert on_time.overdue is False and on_time.late is False
    late = _clock(9, informed_at=TOLD, notified_at=TOLD + timedelta(days=4))
    assert late.overdue is False and late.late is True


def test_a_controller_aware_itself_starts_at_the_case_awareness():
    clock = _clock(4, processor=False)
    assert clock.deadline == AWARE + timedelta(hours=72) and clock.overdue is True


def test_no_notification_owed_means_no_deadline():
    clock = _clock(30, informed_at=TOLD, notify_regulator=False)
    assert clock.deadline is None and clock.overdue is False


def test_the_processors_duty_names_who_is_not_told_and_for_how_long():
    clocks = [
        _clock(3.5, informed_at=TOLD),
        controller_clock(
            "LAB02",
            processor=True,
            case_aware_at=AWARE,
            informed_at=None,
            notified_at=None,
            notify_regulator=True,
            now=AWARE + timedelta(days=3.5),
        ),
    ]
    duty = processor_duty(AWARE, clocks, AWARE + timedelta(days=3, hours=4))
    assert duty.informed == ["LAB01"] and duty.not_informed == ["LAB02"]
    assert duty.waiting_since == "3 j 4 h"
