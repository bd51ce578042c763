#!/usr/bin/env python
import os
import sys

# Commands that only inspect the code and never sign or check anything secret may run
# without SECRET_KEY (e.g. `makemigrations --check` in a fresh shell). Everything else,
# and the server itself, still refuses to start without one when DEBUG is off.
KEYLESS_COMMANDS = {"makemigrations", "check", "showmigrations", "sqlmigrate", "help"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command in KEYLESS_COMMANDS and not os.environ.get("SECRET_KEY"):
        os.environ["SECRET_KEY"] = "unused-by-" + command
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
