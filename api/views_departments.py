"""Departments (clinical and service) with their counters, and a department's live queue
state: the same data the public socket sends to the TVs and phones."""

import re

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers import DepartmentSerializer
from hospital.models import Counter, Department
from queues.state import public_state

# What could be a slug: anything else (a NUL, which PostgreSQL refuses in a parameter)
# is simply not found.
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def department_or_404(queryset, slug: str) -> Department:
    if not SLUG.fullmatch(slug):
        raise NotFound(_("No department has that code."))
    return get_object_or_404(queryset, slug=slug)


def departments():
    active = Counter.objects.filter(is_active=True).order_by("name")
    return Department.objects.filter(is_active=True).prefetch_related(
        Prefetch("counters", queryset=active)
    )


@extend_schema(tags=["departments"], responses=responses({200: DepartmentSerializer(many=True)}))
class DepartmentList(generics.ListAPIView):
    """Every active department, clinical and service, with its counters."""

    permission_classes = [allowed(Scope.READ)]
    serializer_class = DepartmentSerializer
    pagination_class = None

    def get_queryset(self):
        return departments().order_by("name")


@extend_schema(tags=["departments"], responses=responses({200: DepartmentSerializer}, 404))
class DepartmentDetail(generics.RetrieveAPIView):
    """One department by its slug (`orth`)."""

    permission_classes = [allowed(Scope.READ)]
    serializer_class = DepartmentSerializer

    def get_object(self):
        return department_or_404(departments(), self.kwargs["slug"])


@extend_schema(tags=["departments"], responses=responses({200: OpenApiTypes.OBJECT}, 404))
class DepartmentState(APIView):
    """The department's live queue: who is being served where, who is next, how many
    wait and for how long, notices; numbers and initials only. The same data, and the
    same `version`, as the public socket `/ws/departments/<slug>/` sends."""

    permission_classes = [allowed(Scope.READ)]

    def get(self, request, slug):
        department = department_or_404(Department.objects.filter(is_active=True), slug)
        return Response(public_state(department))
