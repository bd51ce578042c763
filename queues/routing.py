from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from queues import consumers
from supervision.consumers import SupervisorConsumer

websocket_urlpatterns = [
    path("ws/departments/<slug:slug>/", consumers.DepartmentConsumer.as_asgi()),
    path("ws/doctor/", consumers.DoctorConsumer.as_asgi()),
    path("ws/counter/", consumers.CounterConsumer.as_asgi()),
    path("ws/supervisor/", SupervisorConsumer.as_asgi()),
    # Anything else is refused at the handshake (HTTP 403), quietly: without this the
    # router raises "No route found", a 500 with a traceback in the log per request.
    re_path(r"", WebsocketDenier.as_asgi()),
]
