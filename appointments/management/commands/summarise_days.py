"""(Re)build the trends report's per-day summaries (appointments.summaries) of the
finished days from --from to --to. Run it to back-fill, or after changing a past day's
tokens, pauses or appointments (an admin's edit) or settings.TIME_ZONE: a finished day's
summary is otherwise computed only once. Today and later days are skipped (the report
counts them live)."""

import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from appointments import summaries
from hospital.clock import local_today


def date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD).") from error


class Command(BaseCommand):
    help = "Rebuild the trends report's per-day summaries of the finished days in a range."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", type=date,
                            help="first day (YYYY-MM-DD; default: the --to day)")  # fmt: skip
        parser.add_argument("--to", dest="end", type=date,
                            help="last day (YYYY-MM-DD; default: yesterday)")  # fmt: skip
        parser.add_argument("--missing", action="store_true",
                            help="only the days that have no summary yet")  # fmt: skip

    def handle(self, *args, start=None, end=None, missing=False, **options):
        yesterday = local_today() - datetime.timedelta(days=1)
        end = end or yesterday
        start = start or end
        if start > end:
            raise CommandError("--from comes after --to.")
        if end > yesterday:
            self.stdout.write(f"Today and later days are counted live: stopping at {yesterday}.")
        started = time.perf_counter()
        count = (summaries.ensure if missing else summaries.build)(start, end)
        self.stdout.write(
            f"Summarised {count} day(s) from {start} to {min(end, yesterday)} "
            f"in {time.perf_counter() - started:.1f} s."
        )
