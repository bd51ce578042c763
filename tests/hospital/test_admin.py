from django.urls import reverse

from hospital.models import MON_TO_SAT, CounterStaff, Department, Doctor, Roles, is_counter_staff


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
        "priority_interval": "3",
        "near_turn_ahead": "3",
        "kind": "clinical",
        # A new department's page has the (empty) counters inline.
        **counters_formset(),
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


# --- Service departments, counters and their staff ----------------------------------------


def counters_formset(*rows, initial=0) -> dict:
    data = {
        "counters-TOTAL_FORMS": str(len(rows)),
        "counters-INITIAL_FORMS": str(initial),
        "counters-MIN_NUM_FORMS": "0",
        "counters-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"counters-{i}-{key}": value for key, value in row.items()})
    return data


def test_departments_list_and_filter_by_kind(staff, orth, lab):
    url = reverse("admin:hospital_department_changelist")
    html = staff.get(url).content.decode()
    assert "Kind" in html and "Service (counters" in html and "Clinical (doctors" in html
    services_only = staff.get(url, {"kind__exact": "service"})
    assert list(services_only.context["cl"].result_list) == [lab]


def test_a_service_department_is_added_with_its_counters(staff):
    data = department_post(
        name="Radiology", code="rad", kind="service", open_days=[str(d) for d in range(7)]
    )
    data.update(
        counters_formset(
            {"name": "X-ray room 1", "is_active": "on"},
            {"name": "Ultrasound room", "is_active": "on"},
        )
    )
    response = staff.post(reverse("admin:hospital_department_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    radiology = Department.objects.get(code="RAD")
    assert radiology.is_service
    assert sorted(radiology.counters.values_list("name", flat=True)) == [
        "Ultrasound room",
        "X-ray room 1",
    ]


def test_a_service_departments_page_edits_its_counters(staff, lab, lab_counter):
    url = reverse("admin:hospital_department_change", args=[lab.pk])
    response = staff.get(url)
    assert "Counter 1" in response.content.decode()
    data = department_post(
        name=lab.name, code=lab.code, slug=lab.slug, kind="service", open_days=["0", "1"]
    )
    data.update(
        counters_formset(
            {
                "id": str(lab_counter.pk),
                "department": str(lab.pk),
                "name": "Counter 1",
                "is_active": "",
            },
            {"name": "Counter 3", "is_active": "on"},
            initial=1,
        )
    )
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["inline_admin_formsets"]
    lab_counter.refresh_from_db()
    assert not lab_counter.is_active
    assert lab.counters.filter(name="Counter 3", is_active=True).exists()


def test_a_clinical_department_has_no_counters_inline(staff, orth):
    response = staff.get(reverse("admin:hospital_department_change", args=[orth.pk]))
    assert not response.context["inline_admin_formsets"]


def test_counters_are_listed_with_who_works_them(staff, lab_tech, lab_counter_2, pharmacy_window):
    url = reverse("admin:hospital_counter_changelist")
    html = staff.get(url).content.decode()
    for text in ("Counter 1", "Counter 2", "Window B", "Laboratory", "Pharmacy", "Lata (lab)"):
        assert text in html
    by_department = staff.get(url, {"department__id__exact": lab_counter_2.department_id})
    assert {c.name for c in by_department.context["cl"].result_list} == {"Counter 1", "Counter 2"}


def test_a_counter_belongs_to_a_service_department(staff, orth, lab):
    form = staff.get(reverse("admin:hospital_counter_add")).context["adminform"].form
    assert list(form.fields["department"].queryset) == [lab]
    response = staff.post(
        reverse("admin:hospital_counter_add"),
        {"department": orth.pk, "name": "Counter 9", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "department" in response.context["adminform"].form.errors


def counter_staff_post(user, department, counter, name="Kiran (lab)") -> dict:
    return {
        "user": user.pk,
        "name": name,
        "department": department.pk,
        "counter": counter.pk if counter else "",
    }


def test_adding_counter_staff_gives_them_the_counter_role(staff, plain_user, lab, lab_counter_2):
    response = staff.post(
        reverse("admin:hospital_counterstaff_add"),
        counter_staff_post(plain_user, lab, lab_counter_2),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    member = CounterStaff.objects.get(user=plain_user)
    assert (member.department, member.counter) == (lab, lab_counter_2)
    assert plain_user.groups.filter(name=Roles.COUNTER).exists()
    assert is_counter_staff(plain_user)


def test_counter_staff_cannot_be_given_another_departments_counter(
    staff, plain_user, lab, pharmacy_window
):
    response = staff.post(
        reverse("admin:hospital_counterstaff_add"),
        counter_staff_post(plain_user, lab, pharmacy_window),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Choose a counter of the staff member's department." in errors["counter"]
    assert not CounterStaff.objects.exists()
    assert not plain_user.groups.filter(name=Roles.COUNTER).exists()


def test_counter_staff_may_have_no_counter_yet(staff, plain_user, pharmacy):
    response = staff.post(
        reverse("admin:hospital_counterstaff_add"), counter_staff_post(plain_user, pharmacy, None)
    )
    assert response.status_code == 302
    assert CounterStaff.objects.get(user=plain_user).counter is None


def test_moving_the_role_to_another_user_and_deleting_it(staff, lab_tech, plain_user, lab):
    url = reverse("admin:hospital_counterstaff_change", args=[lab_tech.pk])
    old_user = lab_tech.user
    response = staff.post(url, counter_staff_post(plain_user, lab, lab_tech.counter, lab_tech.name))
    assert response.status_code == 302
    assert plain_user.groups.filter(name=Roles.COUNTER).exists()
    assert not old_user.groups.filter(name=Roles.COUNTER).exists()

    delete = reverse("admin:hospital_counterstaff_delete", args=[lab_tech.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 302
    assert not CounterStaff.objects.exists()
    assert not plain_user.groups.filter(name=Roles.COUNTER).exists()


def test_counter_staff_are_listed(staff, lab_tech):
    html = staff.get(reverse("admin:hospital_counterstaff_changelist")).content.decode()
    for text in ("Lata (lab)", "Laboratory", "Counter 1", "labtech"):
        assert text in html
