"""Registered patients for the desk's integrations: register, find, and one patient with
their recent visits. The same services as the reception pages (appointments.patients),
allowed to a key with the `patients` scope or a signed-in receptionist."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import Refused
from api.models import Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers_appointments import (
    PatientDetailSerializer,
    PatientQuerySerializer,
    PatientSerializer,
    RegisterPatientSerializer,
)
from appointments import patients
from appointments.errors import BookingError
from appointments.models import Patient
from hospital.roles import is_receptionist

Desk = allowed(Scope.PATIENTS, is_receptionist, _("Patients are for the reception desk."))


class PatientList(APIView):
    permission_classes = [Desk]

    @extend_schema(
        tags=["patients"],
        operation_id="v1_patients_list",
        parameters=[PatientQuerySerializer],
        responses=responses({200: PatientSerializer(many=True)}, 400),
    )
    def get(self, request):
        """Find patients by hospital number, mobile (typed any way) or part of the name;
        at most 50, by name."""
        query = PatientQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = patients.find_patients(query.validated_data["q"])
        return Response(PatientSerializer(found, many=True).data)

    @extend_schema(
        tags=["patients"],
        request=RegisterPatientSerializer,
        responses=responses({201: PatientSerializer}, 400, 409, 415),
    )
    def post(self, request):
        """Register a patient: they get a hospital number (UH0000042). The mobile is
        optional; one already registered to another patient is refused (409), naming
        who has it, so the desk finds them instead."""
        details = RegisterPatientSerializer(data=request.data)
        details.is_valid(raise_exception=True)
        try:
            patient = patients.register_patient(**details.validated_data, actor=request.user)
        except BookingError as exc:
            raise Refused(str(exc)) from None
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["patients"],
    parameters=[
        OpenApiParameter(
            "hospital_number",
            OpenApiTypes.STR,
            OpenApiParameter.PATH,
            description="As printed on the slip: UH0000042.",
        )  # fmt: skip
    ],
    responses=responses({200: PatientDetailSerializer}, 404),
)
class PatientDetail(APIView):
    """One patient by hospital number, with their 20 most recent visits and each visit's
    stops."""

    permission_classes = [Desk]

    def get(self, request, hospital_number):
        number = patients.HOSPITAL_NUMBER.fullmatch(hospital_number.strip().upper()[:20])
        patient = None
        if number:
            patient = Patient.objects.filter(
                hospital_number=patients.hospital_number_for(int(number.group(1)))
            ).first()
        if patient is None:
            raise NotFound(_("There is no patient with that hospital number."))
        return Response(PatientDetailSerializer(patient).data)
