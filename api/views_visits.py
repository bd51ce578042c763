"""Visits: a patient's stops through the OPD in one day, read, and sent on to their next
stops (the reception desk's "send on", for the hospital's system)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import Refused
from api.models import Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers_queue import SendOnSerializer, VisitWithStopsSerializer
from api.views_tokens import parse_public_id, sees_full_names
from hospital.roles import is_receptionist
from queues import visits
from queues.models import Visit
from queues.services import QueueError

PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The visit's public id."
)


def get_visit(public_id: str) -> Visit:
    visit = Visit.objects.filter(public_id=parse_public_id(public_id)).first()
    if visit is None:
        raise exceptions.NotFound()
    return visit


def visit_data(request, visit: Visit) -> dict:
    context = {"request": request, "full_names": sees_full_names(request)}
    return VisitWithStopsSerializer(visit, context=context).data


@extend_schema(
    tags=["visits"],
    parameters=[PUBLIC_ID],
    responses=responses({200: VisitWithStopsSerializer}, 404),
)
class VisitDetail(APIView):
    """The visit's stops in order (first, sent on, back for review, referral), each with
    its department, named doctor, status and token. Staff notes are never sent."""

    permission_classes = [allowed(Scope.READ)]

    def get(self, request, public_id):
        return Response(visit_data(request, get_visit(public_id)))


@extend_schema(
    tags=["visits"],
    parameters=[PUBLIC_ID],
    request=SendOnSerializer,
    responses=responses({200: VisitWithStopsSerializer}, 400, 404, 409, 415),
)
class VisitSendOn(APIView):
    """Send the patient on to one or more next stops, in order, straight after the stop
    they are at now (before stops planned earlier). A patient whose visit had finished
    is given the first new stop's token at once. Refused with 409 and the queue's words
    when a stop cannot take them today (closed, not taking patients, a doctor of another
    department) or the visit is not today's."""

    permission_classes = [
        allowed(Scope.VISITS, role=is_receptionist, refusal=_("This is for the reception desk."))
    ]

    def post(self, request, public_id):
        visit = get_visit(public_id)
        serializer = SendOnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            visits.send_on(visit, serializer.validated_data["stops"], actor=request.user)
        except QueueError as exc:
            raise Refused(str(exc)) from None
        visit.refresh_from_db()
        return Response(visit_data(request, visit))
