from django.apps import AppConfig


class HospitalConfig(AppConfig):
    name = "hospital"
    verbose_name = "Hospital"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from hospital import departments
        from hospital.models import Department

        post_save.connect(departments.forget, sender=Department, dispatch_uid="departments")
        post_delete.connect(departments.forget, sender=Department, dispatch_uid="departments")
