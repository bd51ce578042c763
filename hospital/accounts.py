"""Password reset that gives nothing away: whether or not an account has the address, the
request does the same work (it hands the address to the worker) and shows the same page;
the worker looks the account up and queues the e-mail in the outbox. Requests are limited
per client address and per address asked about, and a limited request looks the same."""

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponseRedirect
from django.template import loader
from django.utils import translation
from django_q.tasks import async_task

from appointments import notify
from hospital.clientip import client_ip
from hospital.limits import over_limit

logger = logging.getLogger(__name__)


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's form, with the e-mail written to the outbox (sent and retried by the
    worker, its link kept only until sent) instead of sent on the spot."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email,
        html_email_template_name=None,
    ):  # fmt: skip
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        notify.queue_email(to_email, subject, body, purpose="password_reset", secret=True)


def send_reset_link(email: str, domain: str, use_https: bool, language: str = "") -> None:
    """The worker's half: e-mail a reset link if an active account has `email`, in the
    language the request was made in (one of the staff languages, else the default)."""
    if language not in settings.STAFF_LANGUAGES:
        language = settings.LANGUAGE_CODE
    form = OutboxPasswordResetForm({"email": email})
    if form.is_valid():
        with translation.override(language):
            form.save(
                domain_override=domain,
                use_https=use_https,
                subject_template_name="registration/password_reset_subject.txt",
                email_template_name="registration/password_reset_email.html",
            )


class PasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        request = self.request
        email = form.cleaned_data["email"].strip().lower()
        limited = over_limit(
            request, "password-reset-address", client_ip(request), "PASSWORD_RESET_LIMIT"
        )
        limited = (
            over_limit(request, "password-reset-account", email, "PASSWORD_RESET_LIMIT_PER_ACCOUNT")
            or limited
        )
        if limited:
            logger.warning("Password reset requests over the limit from %s", client_ip(request))
        else:
            async_task(
                "hospital.accounts.send_reset_link",
                email,
                request.get_host(),
                request.is_secure(),
                (translation.get_language() or "").split("-")[0],
                task_name="password reset",
            )
        return HttpResponseRedirect(self.get_success_url())
