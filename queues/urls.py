from django.urls import path

from queues import kiosk, kiosk_views, views
from queues.views_sms import token_sms_off

urlpatterns = [
    path("", views.home, name="home"),
    path("kiosk/register/", kiosk.register_kiosk, name="register_kiosk"),
    path("kiosk/", kiosk_views.kiosk_start, name="kiosk"),
    path("kiosk/departments/<slug:slug>/", kiosk_views.kiosk_department, name="kiosk_department"),
    path("tokens/<uuid:public_id>/", views.token_detail, name="token_detail"),
    path("tokens/<uuid:public_id>/slip/", kiosk_views.token_slip, name="token_slip"),
    path(
        "tokens/<uuid:public_id>/slip/status/",
        kiosk_views.token_print_status,
        name="token_print_status",
    ),
    path("visits/<uuid:public_id>/", views.visit_detail, name="visit_detail"),
    path("tokens/<uuid:public_id>/sms-off/", token_sms_off, name="token_sms_off"),
    path("progress/", views.progress, name="progress"),
    path("display/", views.display, name="display"),
    path("doctor/", views.doctor_terminal, name="doctor_terminal"),
    path("doctor/panel/", views.doctor_panel, name="doctor_panel"),
    path("doctor/call-next/", views.doctor_call_next, name="doctor_call_next"),
    path("doctor/tokens/<uuid:public_id>/start/", views.doctor_start, name="doctor_start"),
    path("doctor/tokens/<uuid:public_id>/complete/", views.doctor_complete, name="doctor_complete"),
    path("doctor/tokens/<uuid:public_id>/skip/", views.doctor_skip, name="doctor_skip"),
    path("doctor/tokens/<uuid:public_id>/recall/", views.doctor_recall, name="doctor_recall"),
    path("doctor/pause/", views.doctor_pause, name="doctor_pause"),
    path("doctor/resume/", views.doctor_resume, name="doctor_resume"),
    path("doctor/late/", views.doctor_late, name="doctor_late"),
    path(
        "doctor/tokens/<uuid:public_id>/call-again/",
        views.doctor_call_again,
        name="doctor_call_again",
    ),
    path("doctor/tokens/<uuid:public_id>/category/", views.doctor_category, name="doctor_category"),
    path("counter/", views.counter_terminal, name="counter_terminal"),
    path("counter/panel/", views.counter_panel, name="counter_panel"),
    path("counter/choose/", views.counter_choose, name="counter_choose"),
    path("counter/call-next/", views.counter_call_next, name="counter_call_next"),
    path("counter/tokens/<uuid:public_id>/start/", views.counter_start, name="counter_start"),
    path(
        "counter/tokens/<uuid:public_id>/complete/",
        views.counter_complete,
        name="counter_complete",
    ),
    path("counter/tokens/<uuid:public_id>/skip/", views.counter_skip, name="counter_skip"),
    path("counter/tokens/<uuid:public_id>/recall/", views.counter_recall, name="counter_recall"),
    path("counter/pause/", views.counter_pause, name="counter_pause"),
    path("counter/resume/", views.counter_resume, name="counter_resume"),
    path("counter/late/", views.counter_late, name="counter_late"),
    path(
        "counter/tokens/<uuid:public_id>/call-again/",
        views.counter_call_again,
        name="counter_call_again",
    ),
    path(
        "counter/tokens/<uuid:public_id>/category/",
        views.counter_category,
        name="counter_category",
    ),
]
