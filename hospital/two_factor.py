"""Two-step sign-in for staff: a 6-digit code from an authenticator app (TOTP, django-otp).

Optional for every staff member, who turns it on at /accounts/two-factor/; the hospital
can require it of admins (OTP_REQUIRED_FOR_ADMINS: staff accounts, which open the admin
site, then open no page until it is set up). Once a person has a
confirmed device, the password alone no longer opens any page: SecondFactorMiddleware
sends them to enter the code first.
"""

import base64
import logging
import re

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from hospital.roles import return_path

logger = logging.getLogger(__name__)

CODE = re.compile(r"^[0-9]{6}$")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
        error_messages={"required": _("Enter the 6-digit code.")},
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not CODE.match(code):
            raise forms.ValidationError(gettext("Enter the 6 digits your app shows, e.g. 123456."))
        return code


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def verify(request, device: TOTPDevice, code: str) -> bool:
    """Check `code` against `device` (django-otp throttles repeated failures) and, when it
    is right, mark this session as having passed the second step."""
    if not device.verify_token(code):
        return False
    otp_login(request, device)
    return True


def safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path or an address only: redirect() takes a bare word ("garbage") for a view's
    # name and fails to reverse it (a 500).
    if "/" in target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@never_cache
@login_required
def verify_view(request):
    """The second step of signing in."""
    device = confirmed_device(request.user)
    if device is None or request.user.is_verified():
        return redirect(safe_next(request, settings.LOGIN_REDIRECT_URL))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if verify(request, device, form.cleaned_data["code"]):
            return redirect(safe_next(request, settings.LOGIN_REDIRECT_URL))
        form.add_error(
            "code", gettext("That code is not right, or has expired. Try the current one.")
        )
    return render(
        request,
        "registration/two_factor_verify.html",
        {"form": form, "next": safe_next(request, "")},
    )


def qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(
        scale=5, omitsize=True, title=gettext("QR code for your authenticator app")
    )


@never_cache
@login_required
def setup_view(request):
    """Turn two-step sign-in on (scan, then prove it with a code) or off (with a code)."""
    user = request.user
    device = confirmed_device(user)
    form = CodeForm(request.POST or None)
    if device is not None:
        if request.method == "POST" and form.is_valid():
            if verify(request, device, form.cleaned_data["code"]):
                TOTPDevice.objects.filter(user=user).delete()
                logger.info("User %s turned two-step sign-in off", user.pk)
                messages.success(request, gettext("Two-step sign-in is off."))
                return redirect("two_factor_setup")
            form.add_error("code", gettext("That code is not right, or has expired."))
        return render(request, "registration/two_factor_setup.html", {"on": True, "form": form})

    # The device waits unconfirmed until a code proves the app holds its key.
    pending, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    if request.method == "POST" and form.is_valid():
        if verify(request, pending, form.cleaned_data["code"]):
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            logger.info("User %s turned two-step sign-in on", user.pk)
            messages.success(
                request, gettext("Two-step sign-in is on. You will be asked for a code.")
            )
            return redirect(safe_next(request, reverse("two_factor_setup")))
        form.add_error(
            "code", gettext("That code is not right. Check the app's clock and try again.")
        )
    return render(
        request,
        "registration/two_factor_setup.html",
        {
            "on": False,
            "form": form,
            "qr_svg": qr_svg(pending.config_url),
            # The key for typing in by hand, in the grouped base32 that apps accept.
            "secret": " ".join(re.findall(".{1,4}", base64.b32encode(pending.bin_key).decode())),
            "required": admin_requires_second_factor(user),
        },
    )


def second_step_passed(user, session) -> bool:
    """For a live socket, which has no request to verify: a person with a confirmed
    device has passed the second step in this session (django-otp keeps the device in
    it), and anyone without one needs none."""
    device_id = session.get(DEVICE_ID_SESSION_KEY)
    devices = TOTPDevice.objects.filter(user=user, confirmed=True)
    if not devices.exists():
        return True
    return any(device.persistent_id == device_id for device in devices)


def admin_requires_second_factor(user) -> bool:
    return bool(settings.OTP_REQUIRED_FOR_ADMINS and user.is_authenticated and user.is_staff)


# Pages a signed-in person may reach before the second step: the step itself, signing
# out, and the static files those pages need.
EXEMPT_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/static/")


class SecondFactorMiddleware:
    """After the password, a person with a confirmed device must enter a code before any
    other page (django_otp's OTPMiddleware tells whether this session has)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            query = urlencode({"next": return_path(request)})
            if user_has_device(user, confirmed=True):
                return redirect(f"{reverse('two_factor_verify')}?{query}")
            if admin_requires_second_factor(user):
                # An admin's account opens every page, not only the admin site: with the
                # requirement on, it opens none until its second step is set up.
                messages.warning(
                    request, gettext("Your account needs two-step sign-in: set it up first.")
                )
                return redirect(f"{reverse('two_factor_setup')}?{query}")
        return self.get_response(request)
