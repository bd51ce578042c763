"""The Counter staff role, and the new models' permissions for the existing roles.

As in 0002_role_groups, permissions are created here first (post_migrate has not run yet
on a fresh database); re-running only adds what is missing.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_APPS = ["hospital", "queues", "appointments"]

# History is written only by the services: read-only even for hospital admins.
READ_ONLY = {("queues", "visitstop"), ("appointments", "patientevent")}

COUNTER_STAFF = [
    ("queues", "token", ["view"]),
    ("queues", "tokenevent", ["view"]),
    ("queues", "visit", ["view"]),
    ("hospital", "counter", ["view"]),
    ("hospital", "department", ["view"]),
]
RECEPTIONIST = [
    ("queues", "visit", ["view"]),
    ("appointments", "patientevent", ["view"]),
    ("hospital", "counter", ["view"]),
]
DOCTOR = [("queues", "visit", ["view"]), ("hospital", "counter", ["view"])]
NEW_MODELS = [
    ("hospital", "counter"),
    ("hospital", "counterstaff"),
    ("queues", "visit"),
    ("queues", "visitstop"),
    ("appointments", "patientevent"),
]


def add_roles(apps, schema_editor):
    for label in ["auth", "contenttypes", *ROLE_APPS]:
        app_config = apps.get_app_config(label)
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

    admin_perms = [
        p
        for app_label, model in NEW_MODELS
        for p in Permission.objects.filter(
            content_type__app_label=app_label, content_type__model=model
        )
        if (app_label, model) not in READ_ONLY or p.codename.startswith("view_")
    ]
    for name, granted in [
        ("Counter staff", perms(COUNTER_STAFF)),
        ("Receptionist", perms(RECEPTIONIST)),
        ("Doctor", perms(DOCTOR)),
        ("Hospital admin", admin_perms),
    ]:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0003_service_counters"),
        ("queues", "0005_service_counters"),
        ("appointments", "0006_service_counters"),
    ]

    operations = [migrations.RunPython(add_roles, migrations.RunPython.noop)]
