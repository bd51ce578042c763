"""The worker's heartbeat, a django-q2 Schedule run every minute: it records when it ran
(hospital.health.record_heartbeat), and /readyz says the worker is down when that time
grows old."""

from django.db import migrations
from django.utils import timezone

NAME = "worker_heartbeat"


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "hospital.health.record_heartbeat",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0007_worker_heartbeat"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
