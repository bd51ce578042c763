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


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_each_request_runs_whole_in_one_of_a_fixed_few_threads(orth):
    """request_started, the view and request_finished (which hands the database
    connection back) run in the same pool thread; fifty requests at once use no more
    threads than the pool has."""
    import asyncio
    import threading

    from django.core.signals import request_finished, request_started

    seen: dict[str, list[int]] = {"started": [], "finished": []}

    def started(**kwargs):
        seen["started"].append(threading.get_ident())

    def finished(**kwargs):
        seen["finished"].append(threading.get_ident())

    handler = SyncViewsASGIHandler(threads=3)
    request_started.connect(started)
    request_finished.connect(finished)
    try:
        transport = httpx.ASGITransport(app=handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            responses = await asyncio.gather(*(client.get("/progress/") for _ in range(50)))
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
        handler.executor.shutdown()
    assert [r.status_code for r in responses] == [200] * 50
    assert len(seen["started"]) == len(seen["finished"]) == 50
    assert sorted(seen["started"]) == sorted(seen["finished"])
    assert threading.get_ident() not in seen["started"]
    assert len(set(seen["started"])) <= 3


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_a_static_file_streams_through_it():
    handler = SyncViewsASGIHandler(threads=1)
    transport = httpx.ASGITransport(app=handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get("/static/js/live.js")
    handler.executor.shutdown()
    assert response.status_code == 200
    assert b"OPDLive" in response.content
