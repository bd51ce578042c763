from django.urls import path

from appointments import (
    views,
    views_changes,
    views_patients,
    views_queue,
    views_reports,
    views_trends,
    views_walkins,
)

urlpatterns = [
    path("", views.dashboard, name="reception_dashboard"),
    path("api/doctors/", views.doctor_search, name="reception_doctor_search"),
    path("book/", views.book, name="reception_book"),
    path("appointments/<uuid:public_id>/", views.appointment_detail, name="reception_appointment"),
    path("appointments/<uuid:public_id>/verify/", views.verify, name="reception_verify"),
    path("appointments/<uuid:public_id>/resend/", views.resend_code, name="reception_resend"),
    path("appointments/", views_changes.find, name="reception_find"),
    path(
        "appointments/<uuid:public_id>/reschedule/",
        views_changes.reschedule,
        name="reception_reschedule",
    ),
    path("appointments/<uuid:public_id>/cancel/", views_changes.cancel, name="reception_cancel"),
    path(
        "appointments/<uuid:public_id>/check-in/", views_changes.check_in, name="reception_check_in"
    ),
    path("appointments/<uuid:public_id>/no-show/", views_changes.no_show, name="reception_no_show"),
    path("cancellations/", views_changes.cancellations, name="reception_cancellations"),
    path("walk-in/", views_walkins.walk_in, name="reception_walk_in"),
    path("waiting/<int:pk>/offer/", views_walkins.waiting_offer, name="reception_waiting_offer"),
    path("waiting/<int:pk>/remove/", views_walkins.waiting_remove, name="reception_waiting_remove"),
    path("patients/", views_patients.patient_list, name="reception_patients"),
    path("patients/new/", views_patients.patient_new, name="reception_patient_new"),
    path("patients/<int:pk>/", views_patients.patient_detail, name="reception_patient"),
    path("visits/<uuid:public_id>/", views_patients.visit_detail, name="reception_visit"),
    path("reports/daily/", views_reports.daily_report, name="reception_daily_report"),
    path("reports/trends/", views_trends.trends_report, name="reception_trends"),
    # The live queue: every token of today, and the desk's actions on one.
    path("queue/", views_queue.queue, name="reception_queue"),
    path("queue/<uuid:public_id>/recall/", views_queue.recall, name="reception_queue_recall"),
    path("queue/<uuid:public_id>/cancel/", views_queue.cancel, name="reception_queue_cancel"),
    path("queue/<uuid:public_id>/transfer/", views_queue.transfer, name="reception_queue_transfer"),
    path("queue/<uuid:public_id>/category/", views_queue.category, name="reception_queue_category"),
    path("queue/<uuid:public_id>/announce/", views_queue.announce, name="reception_queue_announce"),
    path("queue/<uuid:public_id>/reprint/", views_queue.reprint, name="reception_queue_reprint"),
]
