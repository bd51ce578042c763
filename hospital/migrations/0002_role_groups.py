"""The staff roles as groups with model permissions.

Permissions are normally created by the post_migrate signal, after every migration has
run, so on a fresh database they do not exist yet here: create them first. Re-running
(or migrating an existing database) only adds what is missing; it never removes a
permission an administrator granted by hand.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_APPS = ["hospital", "queues", "appointments"]

# The audit trails and one-time codes stay read-only, even for hospital admins: history
# is written only by the services.
READ_ONLY_MODELS = {
    ("queues", "tokenevent"),
    ("queues", "tokencounter"),
    ("appointments", "appointmentevent"),
    ("appointments", "otpchallenge"),
    ("appointments", "notification"),
}

RECEPTIONIST = [
    ("appointments", "appointment", ["view", "add", "change"]),
    ("appointments", "patient", ["view", "add", "change"]),
    ("appointments", "doctorschedule", ["view"]),
    ("appointments", "doctorleave", ["view"]),
    ("appointments", "appointmentevent", ["view"]),
    ("appointments", "notification", ["view"]),
    ("hospital", "doctor", ["view"]),
    ("hospital", "department", ["view"]),
    ("queues", "token", ["view", "add"]),
]

DOCTOR = [
    ("queues", "token", ["view"]),
    ("queues", "tokenevent", ["view"]),
    ("hospital", "doctor", ["view"]),
    ("hospital", "department", ["view"]),
    ("appointments", "appointment", ["view"]),
    ("appointments", "doctorschedule", ["view"]),
    ("appointments", "doctorleave", ["view"]),
]


def create_role_groups(apps, schema_editor):
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

    admin_perms = [
        p
        for p in Permission.objects.filter(content_type__app_label__in=ROLE_APPS).select_related(
            "content_type"
        )
        if (p.content_type.app_label, p.content_type.model) not in READ_ONLY_MODELS
        or p.codename.startswith("view_")
    ]
    for name, granted in [
        ("Doctor", perms(DOCTOR)),
        ("Receptionist", perms(RECEPTIONIST)),
        ("Hospital admin", admin_perms),
    ]:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*granted)


class Migration(migrations.Migration):
    dependencies = [
        ("hospital", "0001_initial"),
        ("queues", "0002_token_event_edited"),
        ("appointments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
