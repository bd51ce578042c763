"""What a change to a queue moves on, so each screen knows whether it has to catch up.

Every change moves its department's `state_version` on by one: the TVs and phones show the
whole department. A staff terminal's panel shows less: the waiting and skipped lists
(the same for every desk of the department) and its own desk (the patient in front of it,
its figures, its pause). So a change also moves on one of:

- the department's `queue_version`, when the lists may have changed (a token issued,
  called, skipped, edited…);
- the desk's own `panel_version`, when that desk's part changed (its patient called,
  started, completed, skipped or edited, its pause or return): with the queue version
  when the lists changed too (a desk calls its next patient off the list).

A panel's key joins the versions it was read at ("<queue>.<desk>"). When the department's
version moves on but a terminal's key does not, its panel is still right and is not
fetched again: in a day's replay (bench/day.py) half of the changes are a consultation
started or completed, which only the desk that did it shows. When only the key's queue
part moved, the terminal fetches the lists alone (terminal.lists_message), which every
counter of the department shares: so the desk part must show nothing of the queue.
"""

from django.db.models import F

from hospital.models import CounterStaff, Department, Doctor
from queues import broadcast
from queues.reading import Desk


def queue_changed(department_id: int, *desks: tuple[type[Desk], int | None]) -> None:
    """The department's lists may have changed: every desk's panel with them, and the
    given desks' own parts too (a patient called there, skipped, edited or recalled
    from there), as (model, id). Call inside the change's transaction, after its
    department's row is locked; screens are told after commit."""
    Department.objects.filter(pk=department_id).update(
        state_version=F("state_version") + 1, queue_version=F("queue_version") + 1
    )
    for desk_model, desk_id in desks:
        if desk_id:
            desk_model.objects.filter(pk=desk_id).update(panel_version=F("panel_version") + 1)
    broadcast.department_changed(department_id)


def desk_changed(department_id: int, desk_model: type[Desk], desk_id: int) -> None:
    """Only one desk's own panel changed (and the department's screens, which show every
    desk). Rows are written department first, then desk, the order every change locks
    them in (queues.services.lock_desk)."""
    Department.objects.filter(pk=department_id).update(state_version=F("state_version") + 1)
    desk_model.objects.filter(pk=desk_id).update(panel_version=F("panel_version") + 1)
    broadcast.department_changed(department_id)


def doctor_key(queue_version: int, panel_version: int) -> str:
    return f"{queue_version}.{panel_version}"


def staff_key(queue_version: int, counter_id: int | None, panel_version: int | None) -> str:
    # The counter's id is part of it: a staff member who moves to another counter sees
    # that counter's patient.
    return f"{queue_version}.{counter_id or 0}.{panel_version or 0}"


def terminal_keys(department_id: int, queue_version: int) -> dict[str, str]:
    """Every terminal's panel key in the department, as sent with each change to its
    sockets: "d<doctor id>" and "s<counter staff id>" (string keys: the channel layer's
    encoding takes no others)."""
    keys = {
        f"d{pk}": doctor_key(queue_version, version)
        for pk, version in Doctor.objects.filter(department_id=department_id).values_list(
            "pk", "panel_version"
        )
    }
    staff = CounterStaff.objects.filter(department_id=department_id).values_list(
        "pk", "counter_id", "counter__panel_version"
    )
    keys.update({f"s{pk}": staff_key(queue_version, *rest) for pk, *rest in staff})
    return keys


def state_version(department_id: int) -> int:
    """The department's version now (0 if there is no such department)."""
    return read_versions(department_id)[0]


def read_versions(department_id: int) -> tuple[int, int]:
    """The department's (state version, queue version) now, (0, 0) if there is none."""
    row = (
        Department.objects.filter(pk=department_id)
        .values_list("state_version", "queue_version")
        .first()
    )
    return row or (0, 0)


def doctor_versions(doctor: Doctor) -> tuple[int, str]:
    """The department's version and the doctor's panel key, read before the panel (the
    doctor's row already is): the panel shows at least what they say."""
    version, queue_version = read_versions(doctor.department_id)
    return version, doctor_key(queue_version, doctor.panel_version)


def staff_versions(staff: CounterStaff) -> tuple[int, str]:
    """As doctor_versions, for a counter staff member (their counter read with them; as
    in terminal_keys, whichever counter their row names)."""
    version, queue_version = read_versions(staff.department_id)
    counter = staff.counter
    return version, staff_key(queue_version, staff.counter_id, counter and counter.panel_version)


def queue_part(key: str) -> str:
    """A panel key's first part: the queue version the lists were read at."""
    return key.split(".", 1)[0]


def desk_part(key: str) -> str:
    """The rest of a panel key: the desk's own versions (what doctor.js compares)."""
    return key.split(".", 1)[1]
