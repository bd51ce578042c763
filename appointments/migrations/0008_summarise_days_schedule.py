"""The worker's nightly job: summarise the day that has just finished for the trends
report (appointments.summaries.nightly), as a django-q2 Schedule, daily at 01:30 on the
hospital's clock (the first run is the next 01:30 after migrating)."""

import datetime

from django.db import migrations
from django.utils import timezone

NAME = "summarise_days"
FUNC = "appointments.summaries.nightly"
AT = datetime.time(1, 30)


def next_run(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    day = local.date() if local.time() < AT else local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, AT))


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": FUNC,
            "schedule_type": "D",  # Schedule.DAILY
            "repeats": -1,
            "next_run": next_run(timezone.now()),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0007_daysummary"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
