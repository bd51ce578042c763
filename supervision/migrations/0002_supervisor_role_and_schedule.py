"""The Supervisor role, the hospital admin's rights on thresholds, and the worker's
every-minute threshold check.

As in hospital/0002_role_groups, permissions are created here first (post_migrate has not
run yet on a fresh database); re-running only adds what is missing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.utils import timezone

ROLE_APPS = ["hospital", "supervision"]

# What the board shows: departments and their desks, thresholds and alerts. No patient.
SUPERVISOR = [
    ("hospital", "department", ["view"]),
    ("hospital", "doctor", ["view"]),
    ("hospital", "counter", ["view"]),
    ("supervision", "threshold", ["view"]),
    ("supervision", "alert", ["view"]),
]
# Alerts are written only by supervision.services: read-only even for hospital admins.
HOSPITAL_ADMIN = [
    ("supervision", "threshold", ["view", "add", "change", "delete"]),
    ("supervision", "alert", ["view"]),
]

SCHEDULE = "check_thresholds"


def add_role(apps, schema_editor):
    for label in ["auth", "contenttypes", *ROLE_APPS]:
        app_config = apps.get_app_config(label)
        # Historical app configs have no models module, which create_permissions takes
        # for "no models"; it only checks that the attribute is set.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(spec):
        found = []
        for app_label, model, actions in spec:
            found += Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
        return found

    for name, granted in [("Supervisor", perms(SUPERVISOR)), ("Hospital admin", perms(HOSPITAL_ADMIN))]:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*granted)


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE,
        defaults={
            "func": "supervision.services.check_thresholds",
            "schedule_type": "I",  # Schedule.MINUTES
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0001_initial"),
        ("hospital", "0004_counter_staff_role"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(add_role, migrations.RunPython.noop),
        migrations.RunPython(add_schedule, remove_schedule),
    ]
