"""Static files under daphne: whitenoise, async-capable so requests don't hop threads."""

import pytest
from django.test import AsyncClient

from hospital.middleware import WhiteNoiseMiddleware


def test_the_static_middleware_is_async_capable():
    assert WhiteNoiseMiddleware.async_capable and WhiteNoiseMiddleware.sync_capable


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
