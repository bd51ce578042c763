"""The admin shows an appointment's and a waiting-list entry's history under it, read-only."""

from django.urls import reverse

from appointments.models import WaitingListEntry, WaitingListEvent
from tests.appointments.conftest import MORNING, place, t


def test_an_appointment_shows_its_history_and_messages_read_only(staff, dr_rao, receptionist):
    appointment = place(dr_rao, t(9))
    appointment.events.create(kind="booked", actor=receptionist, at=MORNING, reason="at the desk")
    page = staff.get(reverse("admin:appointments_appointment_change", args=[appointment.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "at the desk" in html
    assert 'name="events-0-reason"' not in html  # shown, not editable
    assert 'name="events-MAX_NUM_FORMS" value="0"' in html  # nothing can be added


def test_a_waiting_list_entry_shows_who_removed_it_and_why(staff, dr_rao, receptionist):
    patient = place(dr_rao, t(9)).patient
    entry = WaitingListEntry.objects.create(
        patient=patient, department=dr_rao.department, reason="Knee pain", arrived_at=MORNING,
        status=WaitingListEntry.Status.LEFT,
    )  # fmt: skip
    WaitingListEvent.objects.create(
        entry=entry, kind=WaitingListEvent.Kind.REMOVED, actor=receptionist, at=MORNING,
        reason="Went home",
    )  # fmt: skip
    page = staff.get(reverse("admin:appointments_waitinglistentry_change", args=[entry.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Went home" in html
    assert 'name="events-MAX_NUM_FORMS" value="0"' in html
