"""The worker's schedules for messages to patients: appointment reminders (the day
before, and two hours before) every five minutes, and the "your turn is near" check every
minute, the safety net behind the wake-up each queue change sends."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = {
    "send_reminders": ("appointments.reminders.send_reminders", 5),
    "check_near_turns": ("queues.messages.check_all_near_turns", 1),
}


def add_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": "I",  # Schedule.MINUTES
                "minutes": minutes,
                "repeats": -1,
                "next_run": timezone.now(),
            },
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=SCHEDULES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0009_patient_sms"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedules, remove_schedules)]
