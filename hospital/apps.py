from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HospitalConfig(AppConfig):
    default = True  # this module also holds the admin's config, below
    name = "hospital"
    verbose_name = "Hospital"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from hospital import departments
        from hospital.models import Department

        post_save.connect(departments.forget, sender=Department, dispatch_uid="departments")
        post_delete.connect(departments.forget, sender=Department, dispatch_uid="departments")


class HospitalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the site of hospital/admin_site.py."""

    default = False
    default_site = "hospital.admin_site.HospitalAdminSite"
