"""Holding a slot in as few ready-made statements as the database allows.

Holding a slot used to ask the ORM four questions (the doctor, their leave, the day's
sessions, who sits in the slot) and then make it build five inserts, each statement
built anew per request: about 2.4 ms of CPU a hold, under one GIL, for work that always
has the same shape. Now the statements' text is built once per process:

- read_slot: one SELECT answers the four questions; hold_slot applies the rules to the
  answer (services._bookable_slot, _closed, _started).
- insert_hold: the appointment, its code and its events. On PostgreSQL one statement
  (data-modifying CTEs, so a round trip each is saved), on SQLite three back to back.

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

from appointments.models import (
    Appointment,
    AppointmentEvent,
    DoctorLeave,
    DoctorSchedule,
    OtpChallenge,
)
from hospital.models import Doctor
from hospital.sql import insert, insert_fields, insert_params, insert_sql, mark_inserted


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


# --- Writing it ---------------------------------------------------------------------------


@functools.cache
def _postgresql_insert(events: int) -> tuple[str, tuple, tuple, tuple]:
    pk = connection.ops.quote_name(Appointment._meta.pk.column)
    of_a = {"appointment_id": "a.id"}
    parts = [
        f"a AS ({insert_sql(Appointment)} ON CONFLICT DO NOTHING RETURNING {pk} AS id)",
        f"o AS ({insert_sql(OtpChallenge, of_a, 'a')})",
        f"e AS ({insert_sql(AppointmentEvent, of_a, 'a', rows=events)})",
    ]
    return (
        f"WITH {', '.join(parts)} SELECT id FROM a",
        insert_fields(Appointment),
        insert_fields(OtpChallenge, of_a),
        insert_fields(AppointmentEvent, of_a),
    )


def take_slot(appointment: Appointment) -> bool:
    """Insert a slot-taking `appointment`, or nothing (False) if its slot is taken: the
    one_active_appointment_per_slot index decides, inside the database, with no
    savepoint (ON CONFLICT DO NOTHING; a concurrent insert of the same slot is waited
    for). Every path that puts a new appointment into a slot goes through here."""
    return insert([appointment], "ON CONFLICT DO NOTHING")


def insert_hold(appointment: Appointment, challenge: OtpChallenge, events: list) -> bool:
    """Insert the held `appointment` with its code and events, or nothing at all if its
    slot is taken (the one_active_appointment_per_slot index decides, ON CONFLICT DO
    NOTHING). On PostgreSQL that is one statement (data-modifying CTEs, the code and
    events inserted from the appointment's row, so none without it); on SQLite, inside
    its write lock, up to three. Call inside the caller's transaction."""
    if connection.vendor == "postgresql":
        sql, appointment_fields, challenge_fields, event_fields = _postgresql_insert(len(events))
        params = [
            *insert_params(appointment, appointment_fields),
            *insert_params(challenge, challenge_fields),
            *(p for event in events for p in insert_params(event, event_fields)),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return False
        mark_inserted(appointment, row[0])
        return True
    if not take_slot(appointment):
        return False
    for row in (challenge, *events):
        row.appointment = appointment  # the appointment has its id now
    insert([challenge])
    insert(events)
    return True
