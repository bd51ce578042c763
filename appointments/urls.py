from django.urls import path

from appointments import views

urlpatterns = [
    path("", views.dashboard, name="reception_dashboard"),
    path("api/doctors/", views.doctor_search, name="reception_doctor_search"),
    path("book/", views.book, name="reception_book"),
    path("appointments/<uuid:public_id>/", views.appointment_detail, name="reception_appointment"),
    path("appointments/<uuid:public_id>/verify/", views.verify, name="reception_verify"),
    path("appointments/<uuid:public_id>/resend/", views.resend_code, name="reception_resend"),
]
