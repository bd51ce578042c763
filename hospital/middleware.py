"""Middleware of our own."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware as BaseWhiteNoiseMiddleware


class WhiteNoiseMiddleware(BaseWhiteNoiseMiddleware):
    """whitenoise's middleware, made async-capable.

    Under daphne every other middleware is async-capable; one sync-only link in the chain
    made Django hop each request from the event loop to a thread and back before the view
    (another hop) ran. The static-file lookup is a dict lookup, so it needs no thread;
    only reading a file (and development's autorefresh) goes to one.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs):
        super().__init__(get_response, *args, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if self.autorefresh:
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(
                request.path_info
            )
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
