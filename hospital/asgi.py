"""ASGI entry point: HTTP through Django, websockets through Channels (daphne serves both)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital.settings")
# Django must be set up before anything imports models (the websocket routes do).
django.setup(set_prefix=False)

from hospital import daphne_requests  # noqa: E402
from hospital.handlers import SyncViewsASGIHandler  # noqa: E402

# Under daphne, Twisted no longer parses form bodies that only Django reads.
daphne_requests.install()

django_asgi_app = SyncViewsASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from queues.broadcast import ServerLoop  # noqa: E402
from queues.routing import websocket_urlpatterns  # noqa: E402

application = ServerLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)

# A server holding thousands of sockets allocates many short-lived objects per message;
# with CPython's default thresholds the cyclic collector then ran so often, over so large
# a heap, that it took ~45 % of the event loop at 5,000 sockets (bench/fanout.py,
# docs/PERFORMANCE.md). Freeze what import created (Django, the app: never garbage) and
# collect less often; the memory measured the same.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
