"""How many tokens one client may take, and the kiosks that staff register to be exempt.

One anonymous client once took all 60 of a department's tokens for the next day in a
tenth of a second. Tokens are now limited (hospital/limits.py, rates in settings):
- per client: the browser's own cookie together with its address, so that a hospital's
  kiosks and patients' phones behind one address are counted apart;
- per address, higher, for clients that throw their cookie away;
- per mobile number, whoever asks.
A registered kiosk (KioskDevice, its cookie set by a staff member on that kiosk) is
counted per mobile only.
"""

import hashlib
import logging
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import gettext_noop
from django.views.decorators.cache import never_cache

from hospital.clientip import client_ip
from hospital.limits import over_limit
from hospital.phones import InvalidMobile, normalize_mobile
from hospital.roles import reception_required
from queues.models import KioskDevice

logger = logging.getLogger(__name__)

CLIENT_COOKIE = "opdq_client"
KIOSK_COOKIE = "opdq_kiosk"
TEN_YEARS = 10 * 365 * 24 * 60 * 60
LIMITED = gettext_noop(
    "This device has taken as many tokens as we give one device for now. "
    "Please ask at the reception desk, or try again later."
)
MOBILE_LIMITED = gettext_noop(
    "This mobile number has been given as many tokens as we allow for now. "
    "Please ask at the reception desk."
)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def registered_kiosk(request) -> KioskDevice | None:
    key = request.COOKIES.get(KIOSK_COOKIE, "")
    if not key or len(key) > 100:
        return None
    return KioskDevice.objects.filter(key_hash=key_hash(key), is_active=True).first()


def mobile_refusal(request, mobile: str) -> str:
    """Why `mobile` may not be given another token now ("" when it may); counts it. The
    one limit every client has, a registered kiosk and an API key too."""
    try:
        mobile = normalize_mobile(mobile)
    except InvalidMobile:
        mobile = ""  # issue_token refuses it with its own message
    if mobile and over_limit(request, "tokens-mobile", mobile, "TOKEN_LIMIT_PER_MOBILE"):
        return _(MOBILE_LIMITED)
    return ""


def token_refusal(request, mobile: str) -> str:
    """Why this request may not take a token now ("" when it may); counts it."""
    refusal = mobile_refusal(request, mobile)
    if refusal:
        return refusal
    if registered_kiosk(request) is not None:
        return ""
    address = client_ip(request)
    client = request.COOKIES.get(CLIENT_COOKIE, "")[:64]
    per_client = over_limit(request, "tokens-client", f"{address}|{client}", "TOKEN_LIMIT")
    per_address = over_limit(request, "tokens-address", address, "TOKEN_LIMIT_PER_ADDRESS")
    if per_client or per_address:
        logger.info("Token limit reached for a client at %s", address)
        return _(LIMITED)
    return ""


def remember_client(request, response):
    """Give a browser its own client cookie the first time it opens the kiosk page."""
    if CLIENT_COOKIE not in request.COOKIES:
        response.set_cookie(
            CLIENT_COOKIE, secrets.token_urlsafe(16), max_age=TEN_YEARS, httponly=True,
            samesite="Lax", secure=request.is_secure(),
        )  # fmt: skip
    return response


class KioskForm(forms.Form):
    name = forms.CharField(
        label=_lazy("Name of this kiosk"),
        max_length=100,
        help_text=_lazy("Where it stands, e.g. “OPD entrance 1”."),
        error_messages={"required": _lazy("Give the kiosk a name staff will recognise.")},
    )


@never_cache
@reception_required
def register_kiosk(request):
    """Staff open this page on the kiosk itself: the browser is registered and keeps a
    cookie that lifts the per-client token limit."""
    current = registered_kiosk(request)
    form = KioskForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = secrets.token_urlsafe(32)
        device = KioskDevice.objects.create(
            name=" ".join(form.cleaned_data["name"].split()),
            key_hash=key_hash(key),
            registered_by=request.user,
            registered_at=timezone.now(),
        )
        logger.info("User %s registered kiosk %s (%s)", request.user.pk, device.pk, device.name)
        messages.success(
            request, _("This browser is now the kiosk “%(name)s”.") % {"name": device.name}
        )
        response = redirect("register_kiosk")
        response.set_cookie(
            KIOSK_COOKIE, key, max_age=TEN_YEARS, httponly=True, samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )  # fmt: skip
        return response
    return render(request, "queues/kiosk_register.html", {"form": form, "current": current})
