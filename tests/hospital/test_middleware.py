"""Static files: whitenoise, under Django's ASGI handler as daphne runs it, and the
icon every page names."""

import re

import pytest
from django.test import AsyncClient


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_a_static_file_is_served_through_the_async_chain():
    response = await AsyncClient().get("/static/js/live.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert b"OPDLive" in body


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_pages_still_pass_through_to_django():
    response = await AsyncClient().get("/progress/")
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/", "/display/?departments=orth"])
def test_pages_name_their_icon_so_browsers_do_not_ask_for_favicon_ico(client, orth, page):
    html = client.get(page).content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon, "no icon link"
    response = client.get(icon.group(1))
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)


def test_reception_pages_name_the_icon_too(client, receptionist):
    client.force_login(receptionist)
    html = client.get("/reception/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]+favicon.svg" type="image/svg\+xml">', html)
