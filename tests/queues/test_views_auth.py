"""Signing in and out, and the navigation each kind of user sees."""

import pytest
from django.urls import reverse


@pytest.mark.parametrize("url", ["/", "/progress/", "/accounts/login/"])
def test_every_page_has_the_nav(client, orth, url):
    page = client.get(url).content.decode()
    assert 'href="/"' in page and 'href="/progress/"' in page
    assert 'href="/accounts/login/"' in page
    assert 'href="/doctor/"' not in page
    assert 'href="/counter/"' not in page


def test_a_doctor_sees_the_doctor_link_and_a_logout_form(client, dr_rao):
    client.force_login(dr_rao.user)
    page = client.get("/").content.decode()
    assert 'href="/doctor/"' in page
    assert 'action="/accounts/logout/"' in page and "csrfmiddlewaretoken" in page
    assert 'href="/admin/"' not in page


def test_an_admin_sees_the_admin_link(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/").content.decode()
    assert 'href="/admin/"' in page
    assert 'href="/doctor/"' not in page


def test_a_doctor_lands_on_the_terminal_after_logging_in(client, dr_rao):
    response = client.post(reverse("login"), {"username": "rao", "password": "pw-rao"})
    assert response.status_code == 302
    assert response["Location"] == "/doctor/"


def test_counter_staff_land_on_the_counter_terminal_after_logging_in(client, lab_tech):
    response = client.post(reverse("login"), {"username": "labtech", "password": "pw-labtech"})
    assert response.status_code == 302
    assert response["Location"] == "/counter/"


def test_counter_staff_see_the_counter_link_and_not_the_doctor_link(client, lab_tech):
    client.force_login(lab_tech.user)
    page = client.get("/").content.decode()
    assert 'href="/counter/"' in page
    assert 'href="/doctor/"' not in page


def test_a_doctor_does_not_see_the_counter_link(client, dr_rao):
    client.force_login(dr_rao.user)
    assert 'href="/counter/"' not in client.get("/").content.decode()


def test_next_wins_over_the_doctor_default(client, dr_rao):
    response = client.post(
        reverse("login"), {"username": "rao", "password": "pw-rao", "next": "/progress/"}
    )
    assert response["Location"] == "/progress/"


def test_a_receptionist_lands_on_the_reception_dashboard(client, db):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username="desk", password="pw-desk")
    user.groups.add(Group.objects.get_or_create(name="Receptionist")[0])
    response = client.post(reverse("login"), {"username": "desk", "password": "pw-desk"})
    assert response["Location"] == "/reception/"


def test_anyone_else_lands_on_the_home_page(client, admin_user):
    response = client.post(reverse("login"), {"username": "admin", "password": "pw-admin"})
    assert response["Location"] == "/"


def test_a_wrong_password_shows_the_form_again(client, dr_rao):
    response = client.post(reverse("login"), {"username": "rao", "password": "nope"})
    assert response.status_code == 200
    assert "Invalid credentials" in response.content.decode()


def test_logging_out_is_a_post(client, dr_rao):
    client.force_login(dr_rao.user)
    assert client.post(reverse("logout"))["Location"] == "/"
    assert client.get(reverse("doctor_terminal")).status_code == 302
