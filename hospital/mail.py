"""The email backend used when no transport is configured and DEBUG is off."""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class NoTransportBackend(BaseEmailBackend):
    """Sends nothing and says so, without the message: Django's console backend would
    print password-reset links and patients' details into the production log."""

    def send_messages(self, email_messages):
        if email_messages:
            logger.warning(
                "%d email(s) not sent: no e-mail transport configured (set EMAIL_URL)",
                len(email_messages),
            )
        return 0
