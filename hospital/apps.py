from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HospitalConfig(AppConfig):
    default = True  # this module also holds the admin's config, below
    name = "hospital"
    verbose_name = "Hospital"


class HospitalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site of hospital/admin_site.py."""

    default = False
    default_site = "hospital.admin_site.HospitalAdminSite"
