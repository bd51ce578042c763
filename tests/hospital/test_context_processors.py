"""The roles every template may ask for (hospital.context_processors.roles): the nav's
links, each role looked up only when a page shows the nav."""

from django.urls import reverse

from hospital import context_processors
from hospital.roles import is_receptionist


def counting_receptionist_checks(monkeypatch) -> list:
    asked = []

    def counted(user):
        asked.append(user.username)
        return is_receptionist(user)

    monkeypatch.setattr(context_processors, "is_receptionist", counted)
    return asked


def test_a_terminal_s_panel_does_not_look_up_the_nav_s_roles(client, dr_rao, monkeypatch):
    asked = counting_receptionist_checks(monkeypatch)
    client.force_login(dr_rao.user)
    assert client.get(reverse("doctor_panel")).status_code == 200
    assert asked == []


def test_the_nav_shows_each_role_s_links(client, dr_rao, receptionist, monkeypatch):
    asked = counting_receptionist_checks(monkeypatch)
    client.force_login(dr_rao.user)
    page = client.get(reverse("doctor_terminal")).content.decode()
    assert asked == ["rao"]
    assert 'href="/doctor/"' in page and 'href="/reception/"' not in page
    client.force_login(receptionist)
    page = client.get(reverse("reception_dashboard")).content.decode()
    assert 'href="/reception/"' in page and 'href="/doctor/"' not in page
