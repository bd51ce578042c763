"""Departments (clinical and service) with their counters, and a department's live queue
state: the same data the public socket sends to the TVs and phones."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers import DepartmentSerializer
from hospital.models import Counter, Department
from queues.state import public_state


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
    lookup_field = "slug"

    def get_queryset(self):
        return departments()


@extend_schema(tags=["departments"], responses=responses({200: OpenApiTypes.OBJECT}, 404))
class DepartmentState(APIView):
    """The department's live queue: who is being served where, who is next, how many
    wait and for how long, notices; numbers and initials only. The same data, and the
    same `version`, as the public socket `/ws/departments/<slug>/` sends."""

    permission_classes = [allowed(Scope.READ)]

    def get(self, request, slug):
        department = get_object_or_404(Department, slug=slug, is_active=True)
        return Response(public_state(department))
