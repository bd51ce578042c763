"""What hold_slot needs to know about one slot, in one ready-made statement.

Holding a slot used to ask the ORM four questions (the doctor, their leave, the day's
sessions, who sits in the slot), each query built anew per request: about 2 ms of CPU
a hold, under one GIL, for work that always has the same shape. Here it is one SELECT
whose text is built once per process; hold_slot applies the rules to the answer
(services._bookable_slot) and then writes in as few statements as it can.

The answer is read before the write transaction, so on SQLite the database's one write
lock is not held while it is read and checked. The slot itself cannot be lost to that
gap: the insert is decided by the one_active_appointment_per_slot index, inside the
database ("That slot was just taken"). A doctor set off duty or on leave in the same
instant may still get this one hold, as with any booking made a moment before the
change; reception sees it on the dashboard.
"""

import datetime
import functools
from dataclasses import dataclass

from django.db import connection

from appointments.models import Appointment, DoctorLeave, DoctorSchedule
from hospital.models import Doctor


@dataclass(frozen=True)
class Session:
    """The parts of a DoctorSchedule that cut a day into slots."""

    start: datetime.time
    end: datetime.time
    slot_minutes: int
    emergency_slots: int


@dataclass(frozen=True)
class SlotState:
    doctor_name: str
    on_duty: bool
    on_leave: bool
    sessions: tuple[Session, ...]  # that weekday's, in schedule order
    busy: int  # appointments that occupy the slot now
    lapsed: int  # holds in the slot whose time ran out but not yet marked EXPIRED


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@functools.cache
def _read_sql() -> str:
    qn = connection.ops.quote_name
    taking = ", ".join(f"'{status}'" for status in Appointment.SLOT_TAKING)
    held = Appointment.Status.HELD
    in_slot = (
        f"FROM {_table(Appointment)} a WHERE a.doctor_id = d.id AND a.date = %s AND a.start = %s"
    )
    lapsed = f"a.status = '{held}' AND a.hold_expires_at <= %s"
    return (
        "SELECT d.name, d.on_duty, "
        f"EXISTS (SELECT 1 FROM {_table(DoctorLeave)} l WHERE l.doctor_id = d.id "
        "AND l.start_date <= %s AND l.end_date >= %s), "
        f"(SELECT COUNT(*) {in_slot} AND a.status IN ({taking})), "
        f"(SELECT COUNT(*) {in_slot} AND {lapsed}), "
        f"s.start, s.{qn('end')}, s.slot_minutes, s.emergency_slots "
        f"FROM {_table(Doctor)} d LEFT JOIN {_table(DoctorSchedule)} s "
        "ON s.doctor_id = d.id AND s.weekday = %s "
        "WHERE d.id = %s ORDER BY s.start, s.id"
    )


def _time(value) -> datetime.time:
    # PostgreSQL hands back datetime.time; SQLite the text Django stored.
    return value if isinstance(value, datetime.time) else datetime.time.fromisoformat(value)


def read_slot(doctor_id: int, day: datetime.date, start: datetime.time, now) -> SlotState | None:
    """The doctor's duty, leave and sessions on `day`, and who occupies the slot at
    `start` at `now`; None if there is no such doctor."""
    ops = connection.ops
    day_, start_, now_ = (
        ops.adapt_datefield_value(day),
        ops.adapt_timefield_value(start),
        ops.adapt_datetimefield_value(now),
    )
    params = [day_, day_, day_, start_, day_, start_, now_, day.weekday(), doctor_id]
    with connection.cursor() as cursor:
        cursor.execute(_read_sql(), params)
        rows = cursor.fetchall()
    if not rows:
        return None
    name, on_duty, on_leave, taking, lapsed = rows[0][:5]
    sessions = tuple(
        Session(_time(row[5]), _time(row[6]), row[7], row[8]) for row in rows if row[5] is not None
    )
    return SlotState(name, bool(on_duty), bool(on_leave), sessions, taking - lapsed, lapsed)
