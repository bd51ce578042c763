"""The worker's every-minute webhook job, as a django-q2 Schedule: send whatever is due
(retries, and deliveries whose wake-up was lost)."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = {"send_due_webhooks": "webhooks.delivery.send_due"}


def add_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": "I",  # Schedule.MINUTES
                "minutes": 1,
                "repeats": -1,
                "next_run": timezone.now(),
            },
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedules, remove_schedules)]
