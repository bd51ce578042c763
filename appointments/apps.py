import logging

from django.apps import AppConfig

logger = logging.getLogger("appointments")


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments"

    def ready(self):
        from appointments import checks

        # Servers run no system checks: a missing SMS or email transport is said at start-up
        # in the log as well, where whoever starts the service reads.
        for warning in checks.message_transports():
            logger.warning("%s %s (%s)", warning.msg, warning.hint, warning.id)
