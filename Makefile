# The two set-up commands: `make run` and `make test`. Both work on a fresh machine with
# Python 3.11; everything else they need they install into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrations-check messages messages-check bench-tokens clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# Development server: SQLite + in-memory channel layer, demo data loaded once, and the
# worker that sends SMS and email (printed to this terminal) and expires holds. The trap
# stops the worker when daphne stops, Ctrl-C included: a background job of a
# non-interactive shell ignores SIGINT, so it is sent SIGTERM instead.
run: $(VENV)/.runtime
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo --once
	@# The TV's spoken-call clips, made once (espeak-ng); without it the TV uses the
	@# browser's own voice.
	@if command -v espeak-ng >/dev/null; then \
	  DEBUG=1 $(BIN)/python manage.py make_audio_clips --if-missing; \
	else echo "Note: espeak-ng is not installed (apt install espeak-ng): the TV will speak calls with the browser's voice."; fi
	DEBUG=1 $(BIN)/python manage.py qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	DEBUG=1 $(BIN)/daphne -b $(HOST) -p $(PORT) hospital.asgi:application

# The whole suite. DATABASE_URL / REDIS_URL from the environment choose PostgreSQL and
# Redis; without them the suite runs on SQLite and skips what needs Redis or Chromium.
test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: $(VENV)/.dev
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

# Translations (locale/<lang>/LC_MESSAGES): `make messages` collects every marked string
# from the code, templates and scripts into the .po files (gettext's msgfmt needed: Debian
# package gettext) and compiles them; the compiled .mo files are committed, so `make run`
# needs no gettext. `make messages-check` (CI) fails on any empty or fuzzy entry, or a
# .mo file that is not the compiled .po.
MAKEMESSAGES := DEBUG=1 $(BIN)/python manage.py makemessages -l hi -l ta --no-obsolete \
	--ignore='.venv/*' --ignore='staticfiles/*' --ignore='tests/*' --ignore='bench/*' \
	--ignore='docs/*' --ignore='outbox/*'
messages: $(VENV)/.dev
	$(MAKEMESSAGES) -d django
	$(MAKEMESSAGES) -d djangojs
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore='.venv/*'

# The .mo files are checked against the committed .po first: makemessages rewrites each
# .po's creation date, which would change every compiled file.
messages-check: $(VENV)/.dev
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore='.venv/*'
	@git diff --quiet -- 'locale/*.mo' || { echo "locale/*.mo are stale: run make messages and commit"; exit 1; }
	$(MAKEMESSAGES) -d django
	$(MAKEMESSAGES) -d djangojs
	@status=0; for po in locale/*/LC_MESSAGES/*.po; do \
	  stats=$$(msgfmt --check --statistics -o /dev/null "$$po" 2>&1); echo "$$po: $$stats"; \
	  case "$$stats" in *fuzzy*|*untranslated*) status=1;; esac; \
	done; \
	if [ $$status -ne 0 ]; then echo "Untranslated or fuzzy messages: translate them (make messages)"; exit 1; fi

bench-tokens: $(VENV)/.dev
	$(BIN)/python bench/tokens.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm staticfiles
