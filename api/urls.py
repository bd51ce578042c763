from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views_departments

v1 = [
    path("departments/", views_departments.DepartmentList.as_view(), name="api-departments"),
    path(
        "departments/<slug:slug>/",
        views_departments.DepartmentDetail.as_view(),
        name="api-department",
    ),
    path(
        "departments/<slug:slug>/state/",
        views_departments.DepartmentState.as_view(),
        name="api-department-state",
    ),
]

urlpatterns = [
    path("api/v1/", include(v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from the app's own static files (drf-spectacular-sidecar), its start-up
    # script a separate file: the Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
