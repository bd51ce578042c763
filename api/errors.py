"""Errors as RFC 9457 problem details: JSON a person can read, never a traceback.

{"type": "about:blank", "title": "Bad Request", "status": 400,
 "detail": "The request has errors: see errors.", "errors": {"mobile": ["…"]}}
"""

from http import HTTPStatus

from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

PROBLEM_JSON = "application/problem+json"


class Refused(exceptions.APIException):
    """A domain rule said no (a closed day, a slot just taken): the service's own words."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Refused."
    default_code = "refused"


def problem_details(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = response.status_code
    body = {"type": "about:blank", "title": HTTPStatus(code).phrase, "status": code}
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        body["detail"] = _("The request has errors: see errors.")
        body["errors"] = data if isinstance(data, dict) else {"non_field_errors": data}
    elif isinstance(data, dict) and "detail" in data:
        body["detail"] = str(data["detail"])
    else:
        body["detail"] = str(data)
    response.data = body
    response.content_type = PROBLEM_JSON
    return response
