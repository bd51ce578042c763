"""Mark holds nobody confirmed in time as expired. Slots are free again without this
(booking ignores lapsed holds); running it every few minutes (cron, systemd timer) keeps
the day list and the history tidy."""

from django.core.management.base import BaseCommand

from appointments.booking import expire_holds


class Command(BaseCommand):
    help = "Mark appointment holds whose time is up as expired."

    def handle(self, *args, **options):
        count = expire_holds()
        self.stdout.write(f"Expired {count} hold(s).")
