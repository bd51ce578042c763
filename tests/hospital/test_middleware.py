"""Static files: whitenoise, under Django's own ASGI handler and under ours (daphne)."""

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
