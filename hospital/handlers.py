"""The ASGI handler daphne runs for HTTP."""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncViewsASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the middleware chain built for sync views.

    Every view in this project is sync (the live parts are Channels consumers, outside
    this handler). Under Django's stock ASGI handler each MiddlewareMixin middleware runs
    its process_request and process_response through sync_to_async: sixteen hops between
    the event loop and the request's thread for every request, each paying for a GIL
    hand-off among fifty busy threads. Here the whole chain and the view run in one hop,
    as under WSGI; reading the body and streaming the response stay async.
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
