"""The admin site: staff only. Anonymous visitors get its login page; anyone signed in
who is not staff (a doctor, the front desk) gets a 403, as every other page here does,
instead of Django's default of showing them the admin's login form again. With
OTP_REQUIRED_FOR_ADMINS, staff without two-step sign-in are sent to set it up."""

from functools import update_wrapper

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from hospital.two_factor import admin_requires_second_factor


class HospitalAdminSite(admin.AdminSite):
    site_header = "OPD Queue administration"
    site_title = "OPD Queue admin"
    index_title = "Hospital"

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            if admin_requires_second_factor(request.user) and not request.user.is_verified():
                # (Someone with a device was already sent to enter its code.)
                messages.warning(request, "The admin needs two-step sign-in: set it up first.")
                query = urlencode({"next": request.path})
                return redirect(f"{reverse('two_factor_setup')}?{query}")
            return guarded(request, *args, **kwargs)

        return update_wrapper(inner, view)
