"""Tokens: issue one with exactly the kiosk's rules, and read where one stands.

An integration's key issuing tokens is treated like a registered kiosk: only the
per-mobile limit applies to it (queues.kiosk). A member of staff issuing from the browser
is counted as the take-a-token page counts them."""

import uuid

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import Refused
from api.models import ApiKey, Scope
from api.permissions import allowed
from api.schema import responses
from api.serializers_queue import TokenIssueSerializer, TokenSerializer
from hospital.models import is_counter_staff, is_doctor
from hospital.roles import is_receptionist
from queues import kiosk, services
from queues.models import Token
from queues.services import QueueError
from supervision.access import is_supervisor

PUBLIC_ID = OpenApiParameter(
    "public_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The token's public id."
)


def is_staff_member(user) -> bool:
    """Anyone who works at the hospital: a receptionist, a doctor, counter staff, a
    supervisor or an admin (not a key's own account, nor a patient's login)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    return (
        user.is_staff
        or is_receptionist(user)
        or is_doctor(user)
        or is_counter_staff(user)
        or is_supervisor(user)
    )


def sees_full_names(request) -> bool:
    """Whoever issues tokens knows the patient's name; a key that may only read, or a
    signed-in account that is not staff, sees initials, like the public screens."""
    if isinstance(request.auth, ApiKey):
        return request.auth.allows(Scope.TOKENS)
    return is_staff_member(request.user)


def parse_public_id(value: str) -> uuid.UUID:
    """A public id from the path, or a 404: a malformed one names nothing."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise exceptions.NotFound() from None


def get_token(public_id: str) -> Token:
    token = (
        Token.objects.select_related("department", "doctor", "counter", "category", "visit")
        .filter(public_id=parse_public_id(public_id))
        .first()
    )
    if token is None:
        raise exceptions.NotFound()
    return token


def token_data(request, token: Token) -> dict:
    context = {"request": request, "full_names": sees_full_names(request)}
    return TokenSerializer(token, context=context).data


@extend_schema(
    tags=["tokens"],
    request=TokenIssueSerializer,
    responses=responses({201: TokenSerializer}, 400, 409, 415),
)
class TokenIssue(APIView):
    """Issue a token exactly as the kiosk does: the department by its slug, the
    patient's name, an optional mobile, day (default: the department's first day giving
    tokens), category (by id or name) and language. Refused with 409 and the queue's own
    words when the department is closed that day or has given out all its tokens; 429
    when the mobile number has had as many tokens as the hospital allows."""

    permission_classes = [allowed(Scope.TOKENS, role=is_staff_member)]

    def post(self, request):
        serializer = TokenIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        http_request = request._request
        refusal = (
            kiosk.mobile_refusal(http_request, data["mobile"])
            if isinstance(request.auth, ApiKey)
            else kiosk.token_refusal(http_request, data["mobile"])
        )
        if refusal:
            raise exceptions.Throttled(detail=refusal)
        try:
            token = services.issue_token(
                data["department"],
                data["patient_name"],
                mobile=data["mobile"],
                service_date=data["service_date"],
                category=data["category"],
                actor=request.user,
                language=data["language"],
            )
        except QueueError as exc:
            raise Refused(str(exc)) from None
        token = get_token(str(token.public_id))
        return Response(
            token_data(request, token),
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api-token", args=[token.public_id])},
        )


@extend_schema(
    tags=["tokens"], parameters=[PUBLIC_ID], responses=responses({200: TokenSerializer}, 404)
)
class TokenDetail(APIView):
    """Where a token stands now: its status, how many are ahead and the estimated wait,
    and once called the room or counter to go to. Never the mobile number; the name in
    full only to keys that issue tokens and to staff, initials otherwise."""

    permission_classes = [allowed(Scope.READ)]

    def get(self, request, public_id):
        return Response(token_data(request, get_token(public_id)))
