"""Appointments for the desk's integrations, through the same services as the reception
pages: hold a free slot (the patient is texted a 6-digit code), confirm with the code the
patient reads back, send a new code, reschedule, cancel with a reason, and read one
appointment with its history.

Allowed to a key with the `appointments` scope or a signed-in receptionist. A key acts
as its own user, so every event names it, and the desk's limits (DESK_MAX_OPEN_HOLDS
slots on hold, DESK_MAX_CODES_PER_HOUR codes) apply to it as to one receptionist. A
service's refusal (the slot was just taken, a wrong code and the attempts left, a limit
reached) is a 409 in the service's words. The code itself is never in a response or a
log: it goes to the patient's mobile only, through the outbox.
"""

import uuid

from django.shortcuts import get_object_or_404
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
    AppointmentDetailSerializer,
    AppointmentSerializer,
    CancelSerializer,
    ConfirmSerializer,
    HoldSerializer,
    RescheduleSerializer,
)
from appointments import booking, changes
from appointments.errors import BookingError
from appointments.models import Appointment
from hospital.roles import is_receptionist

Desk = allowed(Scope.APPOINTMENTS, is_receptionist, _("Appointments are for the reception desk."))

PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
    description="The appointment's public id, as the hold returned it.",
)  # fmt: skip


def appointment_or_404(public_id: str) -> Appointment:
    # The path takes any text, so that a malformed id is a 404 problem like an unknown
    # one (a <uuid:> converter would answer Django's HTML 404 instead).
    try:
        key = uuid.UUID(public_id)
    except ValueError:
        raise NotFound(_("There is no such appointment.")) from None
    return get_object_or_404(
        Appointment.objects.select_related("patient", "doctor", "doctor__department"),
        public_id=key,
    )


def attempt(service, *args, **kwargs):
    """Run one booking service: a rule it refuses by (a BookingError: the slot was just
    taken, a wrong code, a limit) is answered as a 409 problem saying why."""
    try:
        return service(*args, **kwargs)
    except BookingError as exc:
        raise Refused(str(exc)) from None


class AppointmentHold(APIView):
    permission_classes = [Desk]

    @extend_schema(
        tags=["appointments"],
        request=HoldSerializer,
        responses=responses({201: AppointmentSerializer}, 400, 409, 415),
    )
    def post(self, request):
        """Hold a free slot for the patient for SLOT_HOLD_MINUTES and text them a 6-digit
        code; the booking is made when the code comes back (confirm). 409 when the slot
        was just taken or is not free, the doctor is off duty, or a limit is reached
        (slots this key holds at once, codes per hour, codes to one mobile a day)."""
        data = HoldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = dict(data.validated_data)
        hold["day"] = hold.pop("date")
        appointment = attempt(booking.hold_slot, **hold, actor=request.user)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["appointments"],
    parameters=[PUBLIC_ID],
    responses=responses({200: AppointmentDetailSerializer}, 404),
)
class AppointmentDetail(APIView):
    """An appointment: its status, slot, doctor, patient (mobile masked) and its history,
    each event with who did it."""

    permission_classes = [Desk]

    def get(self, request, public_id):
        appointment = appointment_or_404(public_id)
        return Response(AppointmentDetailSerializer(appointment).data)


@extend_schema(
    tags=["appointments"],
    parameters=[PUBLIC_ID],
    request=ConfirmSerializer,
    responses=responses({200: AppointmentSerializer}, 400, 404, 409, 415),
)
class AppointmentConfirm(APIView):
    """Book the held slot with the code the patient read back. A wrong code is a 409
    saying how many attempts are left; after the last one, or once the code or hold has
    expired, send a new code (resend-code) or hold again."""

    permission_classes = [Desk]

    def post(self, request, public_id):
        appointment = appointment_or_404(public_id)
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = attempt(
            booking.verify_otp, appointment, data.validated_data["code"], actor=request.user
        )
        return Response(AppointmentSerializer(appointment).data)


@extend_schema(
    tags=["appointments"],
    parameters=[PUBLIC_ID],
    request=None,
    responses=responses({200: AppointmentSerializer}, 404, 409),
)
class AppointmentResendCode(APIView):
    """Text the patient a new code (the old one stops working) and extend the hold. 409
    within OTP_RESEND_SECONDS of the last code, or once the mobile had its codes today."""

    permission_classes = [Desk]

    def post(self, request, public_id):
        appointment = appointment_or_404(public_id)
        attempt(booking.send_otp, appointment, actor=request.user)
        appointment.refresh_from_db()
        return Response(AppointmentSerializer(appointment).data)


@extend_schema(
    tags=["appointments"],
    parameters=[PUBLIC_ID],
    request=RescheduleSerializer,
    responses=responses({200: AppointmentSerializer}, 400, 404, 409, 415),
)
class AppointmentReschedule(APIView):
    """Move a booked appointment to a free slot of the same doctor, or of another doctor
    of the same department; the patient is told by SMS. 409 when the slot is not free or
    was just taken: the appointment then keeps its old slot."""

    permission_classes = [Desk]

    def post(self, request, public_id):
        appointment = appointment_or_404(public_id)
        data = RescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        move = data.validated_data
        appointment = attempt(
            changes.reschedule_appointment,
            appointment,
            day=move["date"],
            start=move["start"],
            doctor=move.get("doctor"),
            reason=move["reason"],
            actor=request.user,
        )
        return Response(AppointmentSerializer(appointment).data)


@extend_schema(
    tags=["appointments"],
    parameters=[PUBLIC_ID],
    request=CancelSerializer,
    responses=responses({200: AppointmentSerializer}, 400, 404, 409, 415),
)
class AppointmentCancel(APIView):
    """Cancel a held or booked appointment, with a reason (kept in its history and
    texted to the patient); the slot is free again at once."""

    permission_classes = [Desk]

    def post(self, request, public_id):
        appointment = appointment_or_404(public_id)
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = attempt(
            changes.cancel_appointment,
            appointment,
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return Response(AppointmentSerializer(appointment).data)
