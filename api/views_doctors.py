"""Doctors for booking: the search the reception desk uses (appointments.slots
.search_doctors) and one doctor's free slots on a day. Allowed to a key with the `read`
scope or a signed-in receptionist, as the desk's doctor search is."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.models import Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers_appointments import (
    DayQuerySerializer,
    DoctorDaySerializer,
    DoctorMatchSerializer,
    DoctorQuerySerializer,
)
from appointments import slots
from appointments.forms import parse_id
from hospital.clock import local_today
from hospital.models import Department, Doctor
from hospital.roles import is_receptionist

Reader = allowed(Scope.READ, is_receptionist, _("Doctor search is for the reception desk."))
# More than the desk's suggestion box shows: an integration may list a department.
SEARCH_LIMIT = 50


class DoctorList(APIView):
    permission_classes = [Reader]

    @extend_schema(
        tags=["doctors"],
        operation_id="v1_doctors_list",
        parameters=[DoctorQuerySerializer],
        responses=responses({200: DoctorMatchSerializer(many=True)}, 400),
    )
    def get(self, request):
        """Doctors whose name (with or without "Dr."), specialization or department
        matches `q` (every doctor when empty), optionally of one department, with their
        free slots on `date`; names that start with `q` first, at most 50."""
        query = DoctorQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        department = None
        if "department" in data:
            department = Department.objects.filter(slug=data["department"]).first()
            if department is None:
                raise ValidationError({"department": [_("There is no such department.")]})
        matches = slots.search_doctors(
            data["q"],
            day=data.get("date") or local_today(),
            available_only=data["available"],
            department=department,
            limit=SEARCH_LIMIT,
        )
        return Response(DoctorMatchSerializer(matches, many=True).data)


@extend_schema(
    tags=["doctors"],
    parameters=[
        OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH),
        DayQuerySerializer,
    ],
    responses=responses({200: DoctorDaySerializer}, 400, 404),
)
class DoctorSlots(APIView):
    """A doctor's free slots on `date` (today when left out): those a patient can be
    booked into now. None, with `why`, when the doctor is off duty or on leave, has no
    session that day, the day is full or over, or has passed."""

    permission_classes = [Reader]

    def get(self, request, id):
        pk = parse_id(id)
        doctor = Doctor.objects.filter(pk=pk).first() if pk is not None else None
        if doctor is None:
            raise NotFound(_("There is no such doctor."))
        query = DayQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        plan = slots.doctor_day(doctor, query.validated_data.get("date") or local_today())
        if plan is None:  # removed a moment ago
            raise NotFound(_("There is no such doctor."))
        return Response(DoctorDaySerializer(plan).data)
