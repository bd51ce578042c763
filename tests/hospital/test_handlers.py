"""HTTP under daphne: one thread hop per request for the whole middleware chain."""

import httpx
import pytest

from hospital.asgi import django_asgi_app
from hospital.handlers import SyncViewsASGIHandler


def test_the_middleware_chain_is_built_for_sync_views():
    assert isinstance(django_asgi_app, SyncViewsASGIHandler)
    assert not getattr(django_asgi_app._middleware_chain, "_is_coroutine", False)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_form_post_a_redirect_and_a_404_come_back_through_it(orth):
    transport = httpx.ASGITransport(app=django_asgi_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        assert (await client.get("/")).status_code == 200
        response = await client.post(
            "/",
            data={
                "department": "orth",
                "patient_name": "Asha Rao",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302
        assert response.headers["location"].startswith("/tokens/")
        assert (await client.get("/doctor/")).status_code == 302
        assert (await client.get("/no-such-page/")).status_code == 404
