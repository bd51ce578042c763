"""The one place that publishes queue changes to live screens.

Services call `department_changed` inside their transaction; the state is computed and
sent only after commit, so no screen ever shows a change that was rolled back. Sending
is best effort: the database is the truth, and a screen that misses a message resyncs
by version. A broken channel layer (Redis down) is logged, never raised.
"""

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def department_group(department_id: int) -> str:
    """Group name for a department's live screens; built from the id only, never from
    user input."""
    return f"department.{int(department_id)}"


def department_changed(department_id: int) -> None:
    transaction.on_commit(lambda: publish_department(department_id))


def publish_department(department_id: int) -> None:
    from hospital.models import Department
    from queues.state import public_state

    try:
        department = Department.objects.get(pk=department_id)
        state = public_state(department)
        layer = get_channel_layer()
        if layer is None:
            return
        # Serialised once here; consumers forward the text as it is, so fan-out to
        # thousands of sockets costs no JSON encoding and no database work per socket.
        async_to_sync(layer.group_send)(
            department_group(department_id),
            {"type": "queue.state", "text": json.dumps(state), "version": state["version"]},
        )
    except Exception:
        logger.exception("Could not publish the state of department %s", department_id)
