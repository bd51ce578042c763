"""Start-up checks: a server that cannot text or email patients says so.

Django runs these for `manage.py check` (and `check --deploy`), `runserver` and `migrate`;
daphne and gunicorn run no checks, so AppointmentsConfig.ready also logs the warnings once.
"""

from django.conf import settings
from django.core.checks import Warning, register

from appointments import notify


@register()
def message_transports(app_configs=None, **kwargs) -> list[Warning]:
    if settings.DEBUG:
        return []  # make run: the console backends print, as the README says
    warnings = []
    if not notify.sms_transport_configured():
        warnings.append(
            Warning(
                f"SMS are not sent: {notify.NO_SMS_TRANSPORT}.",
                hint="Set SMS_BACKEND=http and SMS_GATEWAY_URL; until then every code, "
                "confirmation and cancellation SMS is recorded as not sent.",
                id="appointments.W001",
            )
        )
    if not notify.email_transport_configured():
        warnings.append(
            Warning(
                f"Emails are not sent: {notify.NO_EMAIL_TRANSPORT}.",
                hint="Set EMAIL_URL=smtp://user:password@host:587; until then patients' "
                "emails are recorded as not sent and password resets send nothing.",
                id="appointments.W002",
            )
        )
    return warnings
