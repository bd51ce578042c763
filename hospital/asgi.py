"""ASGI entry point: websockets through Channels, HTTP through Django.

In production daphne serves only `/ws/` (nginx sends everything else to gunicorn and
hospital/wsgi.py); under `make run` one daphne process serves both.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital.settings")
# Set up Django before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from hospital.sockets import SameOriginValidator, SocketsPerClientLimit  # noqa: E402
from queues.routing import websocket_urlpatterns  # noqa: E402

# The cheap refusals come first: a foreign page, then a client holding too many sockets,
# before the session is read from the database.
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            SocketsPerClientLimit(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# A daphne process holding thousands of sockets makes many short-lived objects per push,
# and with CPython's default thresholds the cyclic collector ran over that large heap
# again and again (bench/fanout.py). What import made (Django, the app) is never
# garbage: freeze it, and collect less often.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
