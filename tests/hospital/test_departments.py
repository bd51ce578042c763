"""The per-process list of active departments the kiosk reads on every request."""

from hospital import departments
from hospital.models import Department


def test_the_list_is_read_once_and_reused(orth, card, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = departments.active_departments()
        again = departments.active_departments()
    assert [d.code for d in first] == ["CARD", "ORTH"]
    assert again is first


def test_saving_or_deleting_a_department_is_seen_at_once(orth, card):
    assert len(departments.active_departments()) == 2
    card.is_active = False
    card.save()
    assert [d.code for d in departments.active_departments()] == ["ORTH"]
    Department.objects.create(name="ENT", code="ENT")
    assert [d.code for d in departments.active_departments()] == ["ENT", "ORTH"]
    Department.objects.get(code="ENT").delete()
    assert [d.code for d in departments.active_departments()] == ["ORTH"]


def test_a_change_from_another_process_is_seen_within_the_ttl(orth, card, monkeypatch):
    assert len(departments.active_departments()) == 2
    # update() sends no signal, like a save made by another server process.
    Department.objects.filter(pk=card.pk).update(is_active=False)
    assert len(departments.active_departments()) == 2  # still the cached list
    monkeypatch.setattr(departments, "ACTIVE_TTL", 0)
    departments.forget()  # the cached entry's deadline was set with the old TTL
    assert [d.code for d in departments.active_departments()] == ["ORTH"]
