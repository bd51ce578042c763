from django.urls import reverse

from hospital.models import MON_TO_SAT, Department, Doctor


def test_the_admin_is_branded(staff):
    response = staff.get(reverse("admin:index"))
    assert b"OPD Queue administration" in response.content


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("admin:hospital_department_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_signed_in_non_staff_get_a_403(client, plain_user, dr_rao):
    for user in (plain_user, dr_rao.user):
        client.force_login(user)
        for url in (reverse("admin:index"), reverse("admin:hospital_department_changelist")):
            assert client.get(url).status_code == 403


def test_departments_list_their_settings(staff, orth):
    orth.daily_token_limit = 40
    orth.open_weekdays = 0b0010101  # Mon, Wed, Fri
    orth.save()
    response = staff.get(reverse("admin:hospital_department_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Orthopedic Surgery", "ORTH", "Mon, Wed, Fri", "40", "Open days"):
        assert text in html


def test_the_open_weekdays_are_checkboxes(staff, orth):
    orth.open_weekdays = 0b1000001  # Mon, Sun
    orth.save()
    response = staff.get(reverse("admin:hospital_department_change", args=[orth.pk]))
    form = response.context["adminform"].form
    assert form["open_days"].value() == [0, 6]
    html = response.content.decode()
    assert html.count('type="checkbox" name="open_days"') == 7


def department_post(**overrides) -> dict:
    data = {
        "name": "Neurology",
        "code": "neur",
        "slug": "",
        "is_active": "on",
        "open_days": ["0", "2", "4"],
        "daily_token_limit": "",
        "booking_window_days": "7",
    }
    data.update(overrides)
    return data


def test_adding_a_department_maps_the_checkboxes_to_the_mask(staff):
    response = staff.post(reverse("admin:hospital_department_add"), department_post())
    assert response.status_code == 302, response.context["adminform"].form.errors
    neuro = Department.objects.get(code="NEUR")
    assert neuro.open_weekdays == 0b0010101
    assert neuro.open_weekday_names == ["Mon", "Wed", "Fri"]
    assert neuro.slug == "neur"


def test_a_new_department_starts_with_the_models_default_days(staff):
    response = staff.get(reverse("admin:hospital_department_add"))
    assert response.context["adminform"].form["open_days"].value() == [
        i for i in range(7) if MON_TO_SAT & (1 << i)
    ]


def test_changing_the_days_keeps_other_fields(staff, orth):
    url = reverse("admin:hospital_department_change", args=[orth.pk])
    data = department_post(
        name=orth.name, code=orth.code, slug=orth.slug, open_days=["5", "6"], is_active=""
    )
    assert staff.post(url, data).status_code == 302
    orth.refresh_from_db()
    assert orth.open_weekday_names == ["Sat", "Sun"]
    assert not orth.is_active


def test_a_department_may_be_closed_every_day(staff, orth):
    url = reverse("admin:hospital_department_change", args=[orth.pk])
    data = department_post(name=orth.name, code=orth.code, slug=orth.slug, open_days=[])
    assert staff.post(url, data).status_code == 302
    orth.refresh_from_db()
    assert orth.open_weekdays == 0


def test_unknown_weekdays_are_refused(staff):
    response = staff.post(
        reverse("admin:hospital_department_add"), department_post(open_days=["7"])
    )
    assert response.status_code == 200
    assert "open_days" in response.context["adminform"].form.errors
    assert not Department.objects.filter(code="NEUR").exists()


def test_the_deactivate_action(staff, client, orth, card):
    response = staff.post(
        reverse("admin:hospital_department_changelist"),
        {"action": "deactivate", "_selected_action": [orth.pk]},
    )
    assert response.status_code == 302
    orth.refresh_from_db()
    card.refresh_from_db()
    assert (orth.is_active, card.is_active) == (False, True)
    # The kiosk stops offering it at once.
    kiosk = client.get(reverse("home")).content.decode()
    assert 'value="card"' in kiosk and 'value="orth"' not in kiosk


def test_doctors_list_filter_and_search(staff, dr_rao, dr_iyer, dr_shah, orth):
    url = reverse("admin:hospital_doctor_changelist")
    response = staff.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Dr. Rao", "Dr. Shah", "Cardiology", "On duty", "Room"):
        assert text in html
    by_department = staff.get(url, {"department__id__exact": orth.pk})
    assert set(by_department.context["cl"].result_list) == {dr_rao, dr_iyer}
    dr_iyer.on_duty = False
    dr_iyer.save()
    off_duty = staff.get(url, {"on_duty__exact": "0"})
    assert list(off_duty.context["cl"].result_list) == [dr_iyer]
    found = staff.get(url, {"q": "shah"})
    assert list(found.context["cl"].result_list) == [dr_shah]


def test_a_doctor_can_be_edited(staff, dr_rao):
    url = reverse("admin:hospital_doctor_change", args=[dr_rao.pk])
    response = staff.get(url)
    assert response.status_code == 200
    data = {
        "user": dr_rao.user.pk,
        "name": "Dr. Ramesh Rao",
        "specialization": "Orthopaedic surgeon",
        "department": dr_rao.department.pk,
        "room": "4A",
        "on_duty": "",
    }
    assert staff.post(url, data).status_code == 302
    dr_rao.refresh_from_db()
    assert (dr_rao.name, dr_rao.room, dr_rao.on_duty) == ("Dr. Ramesh Rao", "4A", False)
    assert Doctor.objects.count() == 1
