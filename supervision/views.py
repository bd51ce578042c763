from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from hospital.languages import localized
from supervision import services
from supervision.access import supervisor_required
from supervision.board import board_context
from supervision.models import Alert


@supervisor_required
def board(request):
    return render(request, "supervision/board.html", board_context())


@require_POST
@supervisor_required
def acknowledge(request, pk: int):
    alert = get_object_or_404(Alert, pk=pk)
    try:
        services.acknowledge(alert, request.user)
    except services.SupervisionError as exc:
        messages.info(request, str(exc))
    else:
        messages.success(
            request,
            gettext("Alert for %(department)s acknowledged.")
            % {"department": localized(alert.department)},
        )
    return redirect("supervisor_board")
