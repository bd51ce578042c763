"""Messages to patients about their queue and appointments: a message's stop (token),
language and gateway id, at most one of each kind per stop or appointment, and the
numbers that opted out of SMS."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def give_message_ids(apps, schema_editor):
    # A column default is computed once for all existing rows; each needs its own id.
    Notification = apps.get_model("appointments", "Notification")
    for pk in Notification.objects.values_list("pk", flat=True).iterator():
        Notification.objects.filter(pk=pk).update(message_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0008_summarise_days_schedule"),
        ("queues", "0008_languages"),
    ]

    operations = [
        migrations.CreateModel(
            name="SmsOptOut",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "mobile",
                    models.CharField(
                        help_text="E.164, e.g. +919812345678", max_length=20, unique=True
                    ),
                ),
                ("at", models.DateTimeField()),
                ("how", models.CharField(blank=True, max_length=100)),
            ],
            options={"verbose_name": "SMS opt-out", "ordering": ["-at"]},
        ),
        migrations.AddField(
            model_name="notification",
            name="language",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
        migrations.AddField(
            model_name="notification",
            name="message_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_message_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="notification",
            name="message_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="notification",
            name="token",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="notifications",
                to="queues.token",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting to be sent"),
                    ("sent", "Sent"),
                    ("failed", "Failed"),
                    ("not_sent", "Not sent: no transport configured"),
                    ("opted_out", "Not sent: the patient opted out"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("purpose__in", ("token_issued", "turn_near", "token_called"))),
                fields=("token", "purpose"),
                name="one_message_of_a_kind_per_stop",
            ),
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                condition=models.Q(("purpose__in", ("reminder_day_before", "reminder_soon"))),
                fields=("appointment", "purpose"),
                name="one_reminder_of_a_kind_per_appointment",
            ),
        ),
    ]
