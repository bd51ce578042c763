from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import (
    views_appointments,
    views_departments,
    views_doctors,
    views_patients,
    views_tokens,
    views_visits,
)

v1 = [
    path("departments/", views_departments.DepartmentList.as_view(), name="api-departments"),
    path(
        "departments/<str:slug>/",
        views_departments.DepartmentDetail.as_view(),
        name="api-department",
    ),
    path(
        "departments/<str:slug>/state/",
        views_departments.DepartmentState.as_view(),
        name="api-department-state",
    ),
    # Public ids as plain text: a malformed one is a 404 problem from the view, not
    # Django's HTML page for an address that matched nothing.
    path("tokens/", views_tokens.TokenIssue.as_view(), name="api-tokens"),
    path("tokens/<str:public_id>/", views_tokens.TokenDetail.as_view(), name="api-token"),
    path("visits/<str:public_id>/", views_visits.VisitDetail.as_view(), name="api-visit"),
    path(
        "visits/<str:public_id>/send-on/",
        views_visits.VisitSendOn.as_view(),
        name="api-visit-send-on",
    ),
    # Patients, doctors and appointments (the reception desk's integrations). Ids in the
    # path as plain text too, for the same reason.
    path("patients/", views_patients.PatientList.as_view(), name="api-patients"),
    path(
        "patients/<str:hospital_number>/",
        views_patients.PatientDetail.as_view(),
        name="api-patient",
    ),
    path("doctors/", views_doctors.DoctorList.as_view(), name="api-doctors"),
    path("doctors/<str:id>/slots/", views_doctors.DoctorSlots.as_view(), name="api-doctor-slots"),
    path("appointments/", views_appointments.AppointmentHold.as_view(), name="api-appointments"),
    path(
        "appointments/<str:public_id>/",
        views_appointments.AppointmentDetail.as_view(),
        name="api-appointment",
    ),
    path(
        "appointments/<str:public_id>/confirm/",
        views_appointments.AppointmentConfirm.as_view(),
        name="api-appointment-confirm",
    ),
    path(
        "appointments/<str:public_id>/resend-code/",
        views_appointments.AppointmentResendCode.as_view(),
        name="api-appointment-resend-code",
    ),
    path(
        "appointments/<str:public_id>/reschedule/",
        views_appointments.AppointmentReschedule.as_view(),
        name="api-appointment-reschedule",
    ),
    path(
        "appointments/<str:public_id>/cancel/",
        views_appointments.AppointmentCancel.as_view(),
        name="api-appointment-cancel",
    ),
]

urlpatterns = [
    path("api/v1/", include(v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from the app's own static files (drf-spectacular-sidecar), its start-up
    # script a separate file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
