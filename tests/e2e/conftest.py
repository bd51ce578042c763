"""Browser tests: Playwright driving Debian's Chromium against the real app under daphne.

Skipped with a reason when Chromium is missing (a laptop); required in CI.
"""

import contextlib
import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hospital.models import Roles
from tests.conftest import chromium_path, require_in_ci
from tests.servers import DaphneServer, WorkerProcess, set_server_password

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# A wall TV's browser: sound without a click (README: the TV's kiosk flags).
TV_ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]


@contextlib.contextmanager
def chromium(args: list[str]):
    path = chromium_path()
    if path is None:
        require_in_ci("Chromium", "install the Debian package `chromium` (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which Django's
    # async-safety check mistakes for async code; the tests only touch the ORM between
    # browser steps. Both the loop and the exemption end with the module.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, headless=True, args=args)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="module")
def browser():
    with chromium(CHROMIUM_ARGS) as running:
        yield running


@pytest.fixture(scope="module")
def browser_with_autoplay():
    """Chromium as a wall TV runs it; headless, it has no speech voices at all, so a call
    is heard only if the clips say it."""
    with chromium(TV_ARGS) as running:
        yield running


@pytest.fixture
def server(transactional_db):
    with DaphneServer() as running:
        yield running


@pytest.fixture
def outbox_dir(tmp_path):
    """Where the reception server's outbox SMS backend writes (sms.jsonl)."""
    return tmp_path / "outbox"


@pytest.fixture
def reception_server(transactional_db, outbox_dir):
    # The server queues its texts and the real worker sends them, as in production.
    env = {"SMS_BACKEND": "outbox", "OUTBOX_DIR": str(outbox_dir), "WORKER_SYNC": "0"}
    with WorkerProcess(extra_env=env), DaphneServer(extra_env=env) as running:
        yield running


@pytest.fixture
def frontdesk(transactional_db):
    user = get_user_model().objects.create_user(username="frontdesk", first_name="Front")
    user.groups.add(Group.objects.get_or_create(name=Roles.RECEPTIONIST)[0])
    return user


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(viewport=None, **kwargs):
        viewport = viewport or {"width": 1280, "height": 800}
        context = browser.new_context(viewport=viewport, **kwargs)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def press(page, button: str) -> None:
    """Click a button and wait for what it leads to: on a terminal's panel, its script
    sends the press and puts the panel it gets back in place (static/js/doctor.js); any
    other button loads the page it leads to."""
    on_panel = page.locator("[data-live-panel]").get_by_role("button", name=button, exact=True)
    if not on_panel.count():
        with page.expect_navigation():
            page.get_by_role("button", name=button, exact=True).click()
        return
    with page.expect_response(lambda response: response.request.method == "POST"):
        on_panel.click()
    # A locator's wait, not a script's: some pages are opened under the app's CSP.
    page.locator("[data-live-panel] form[data-submitting]").wait_for(state="detached")
    page.locator("#main .messages li").first.wait_for()  # every press says what it did


def log_in(page, base_url: str, username: str, password: str) -> None:
    set_server_password(get_user_model().objects.get(username=username), password)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
