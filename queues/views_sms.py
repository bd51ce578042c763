"""The patient's own switch for SMS, from their status page."""

from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from queues import messages
from queues.models import Token


@require_POST
def token_sms_off(request, public_id):
    """Stop queue updates and reminders by SMS to this token's mobile. Anyone holding the
    status page's link may do it, like the patient's slip: the link is the patient's."""
    token = get_object_or_404(
        Token.objects.select_related("department", "visit"), public_id=public_id
    )
    messages.stop_sms(token)
    if token.visit_id:
        return redirect("visit_detail", public_id=token.visit.public_id)
    return redirect("token_detail", public_id=token.public_id)
