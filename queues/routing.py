from django.urls import path

from queues import consumers

websocket_urlpatterns = [
    path("ws/departments/<slug:slug>/", consumers.DepartmentConsumer.as_asgi()),
    path("ws/doctor/", consumers.DoctorConsumer.as_asgi()),
]
