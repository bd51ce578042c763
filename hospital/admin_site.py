"""The admin site: staff only. Anonymous visitors get its login page; anyone signed in
who is not staff (a doctor, the front desk) gets a 403, as every other page here does,
instead of Django's default of showing them the admin's login form again.
(OTP_REQUIRED_FOR_ADMINS is enforced for every page by hospital.two_factor.)"""

from functools import update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied


class HospitalAdminSite(admin.AdminSite):
    site_header = "OPD Queue administration"
    site_title = "OPD Queue admin"
    index_title = "Hospital"

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return guarded(request, *args, **kwargs)

        return update_wrapper(inner, view)
