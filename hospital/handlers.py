"""The ASGI handler daphne runs for HTTP."""

import asyncio
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


class SyncViewsASGIHandler(ASGIHandler):
    """Django's ASGI handler, reshaped for a project whose views are all sync.

    Every view here is sync (the live parts are Channels consumers, outside this handler).
    Django's stock handler pays, per request, for a new thread (asgiref's per-request
    executor), three hops into it (request_started, the view, response.close) and, with
    MiddlewareMixin middleware, two more hops per middleware. Under fifty kiosks that made
    a convoy: the request holding the department's numbering lock waited for the GIL
    behind forty-nine others at every statement. bench/tokens.py and
    docs/PERFORMANCE.md have the numbers.

    Here a request is one hop into a fixed pool of HTTP_THREADS threads, as under a WSGI
    server: request_started, the middleware chain, the view and request_finished (which
    hands the thread's database connection back) all run in that thread, so the
    connection is opened and closed by the thread that used it. Reading the body and
    sending the response stay on the event loop. A sync view cannot be cancelled
    anyway, so the stock handler's disconnect watcher is left out.
    """

    def __init__(self, threads: int | None = None):
        super().__init__()
        threads = threads or getattr(settings, "HTTP_THREADS", None) or os.cpu_count() or 4
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            # The copied context carries the script prefix (a context variable) into the
            # thread; each request runs in its own copy.
            context = contextvars.copy_context()
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(
                self.executor, context.run, self.respond, scope, body_file
            )
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while we were sending
            finally:
                if response.streaming:
                    # A streamed body (here only whitenoise's static files, which never
                    # touch the database) is read while sending, so the response is
                    # closed, and request_finished sent, only now and off the pool.
                    await sync_to_async(response.close, thread_sensitive=False)()
        finally:
            body_file.close()

    def respond(self, scope, body_file):
        """The whole request in one thread: the same steps as WSGIHandler.__call__."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size  # the server does its own chunking
        if not response.streaming:
            # Fires request_finished here, where the view's database connection lives.
            response.close()
        return response
