from django.urls import path

from supervision import views

urlpatterns = [
    path("", views.board, name="supervisor_board"),
    path("alerts/<int:pk>/acknowledge/", views.acknowledge, name="supervisor_acknowledge"),
]
