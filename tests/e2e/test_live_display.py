"""A doctor presses Call next; the waiting-room TV changes without a reload."""

import datetime

import pytest

from queues import services
from queues.models import Token
from tests.e2e.conftest import log_in, press
from tests.servers import DaphneServer

pytestmark = pytest.mark.browser


def open_display(page, base_url: str, departments: str = "orth"):
    page.goto(f"{base_url}/display/?departments={departments}&sound=0&voice=0")
    page.wait_for_selector("#tv-status.live")
    return page


def test_call_next_reaches_the_display_without_a_reload(server, new_page, orth, dr_rao):
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer")
    display = open_display(new_page(), server.url)
    assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-001", "ORTH-002"]

    doctor = new_page()
    log_in(doctor, server.url, "rao", "pw-rao")
    doctor.goto(f"{server.url}/doctor/")
    display.evaluate("window.__loadedAt = performance.timeOrigin")

    # How fast is bench/fanout.py's business; here it must arrive by itself.
    doctor.get_by_role("button", name="Call next").click()
    display.wait_for_selector('.tv-serving li[data-token="ORTH-001"]', timeout=5000)

    assert "Room 4" in display.locator('.tv-serving li[data-token="ORTH-001"]').inner_text()
    assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-002"]
    # The same page, not a reload.
    assert display.evaluate("window.__loadedAt === performance.timeOrigin")
    # A fresh call is highlighted.
    assert "tv-flash" in display.locator('.tv-serving li[data-token="ORTH-001"]').get_attribute(
        "class"
    )


def test_a_display_recovers_by_itself_after_a_server_restart(
    transactional_db, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    first = DaphneServer().start()
    port = first.port
    try:
        display = open_display(new_page(), first.url)
        assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-001"]
    finally:
        first.stop()

    display.wait_for_selector("#tv-status:not(.live)", timeout=5000)
    # What it shows may be old now: dimmed, and said in words.
    display.wait_for_selector("#tv-stale-note:visible", timeout=5000)
    assert display.locator("#tv-stale-note").inner_text() == (
        "Connection lost — showing the last known state"
    )
    assert "tv-stale" in display.locator("body").get_attribute("class")
    # While the server is down the queue moves on.
    services.call_next(dr_rao)
    services.issue_token(orth, "Chitra Menon")

    with DaphneServer(port=port):
        display.wait_for_selector('.tv-serving li[data-token="ORTH-001"]', timeout=20_000)
        display.wait_for_selector("#tv-status.live")
        assert display.locator(".tv-next-list li").all_inner_texts() == ["ORTH-002"]
        assert display.locator("#tv-stale-note").is_hidden()


def test_a_patients_phone_counts_down_and_says_when_it_is_their_turn(
    server, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    mine = services.issue_token(orth, "Bala Iyer")
    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(f"{server.url}/tokens/{mine.public_id}/")
    phone.wait_for_selector("#live-status.live")
    assert phone.locator('[data-role="ahead"]').inner_text() == "1"

    doctor = new_page()
    log_in(doctor, server.url, "rao", "pw-rao")
    doctor.goto(f"{server.url}/doctor/")
    press(doctor, "Call next")  # Asha goes in; Bala is next
    phone.wait_for_function(
        "document.querySelector('[data-role=\"ahead\"]').textContent === '0'", timeout=3000
    )
    press(doctor, "Skip (no-show)")
    press(doctor, "Call next")
    turn = phone.wait_for_selector('[data-role="your-turn"]', timeout=3000)
    assert turn.inner_text() == "It's your turn — Room 4"
    assert phone.title().startswith("It's your turn — Room 4")


def open_terminal(doctor, base_url: str):
    """Dr Rao's terminal, signed in and live."""
    log_in(doctor, base_url, "rao", "pw-rao")
    doctor.goto(f"{base_url}/doctor/")
    doctor.wait_for_selector("#live-status.live")
    return doctor


def take_a_token(kiosk, base_url: str, name: str):
    """A patient takes an Orthopaedics token at the kiosk page (so the server announces it)."""
    kiosk.goto(f"{base_url}/")
    kiosk.select_option("select[name=department]", "orth")
    kiosk.fill("input[name=patient_name]", name)
    with kiosk.expect_navigation():
        kiosk.press("input[name=patient_name]", "Enter")
    return kiosk


def test_a_doctor_sees_a_kiosk_token_join_the_waiting_list_and_the_buttons_still_work(
    server, new_page, orth, dr_rao
):
    doctor = open_terminal(new_page(), server.url)
    doctor.evaluate("window.__sameDocument = true")

    kiosk = take_a_token(new_page(), server.url, "Chitra Menon")
    assert "ORTH-001" in kiosk.inner_text("h1")

    doctor.wait_for_selector("#doctor-panel td:has-text('Chitra Menon')", timeout=2000)
    assert doctor.evaluate("window.__sameDocument === true")
    # The re-rendered panel's forms carry a valid CSRF token.
    press(doctor, "Call next")
    assert "Called ORTH-001" in doctor.inner_text("body")


def test_a_press_keeps_the_terminal_s_page_and_socket_and_says_what_happened(
    server, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    services.issue_token(orth, "Bala Iyer")
    doctor = open_terminal(new_page(), server.url)
    doctor.evaluate("window.__sameDocument = true")
    sockets, posts = [], []
    doctor.on("websocket", lambda socket: sockets.append(socket.url))
    doctor.on("request", lambda r: r.method == "POST" and posts.append(r.url))

    # A double click is one press: the second waits for the first's answer.
    with doctor.expect_response(lambda response: response.request.method == "POST"):
        doctor.get_by_role("button", name="Call next", exact=True).dblclick()
    doctor.wait_for_selector(".messages li:has-text('Called ORTH-001 — Asha Rao.')")
    assert posts == [f"{server.url}/doctor/call-next/"]
    assert Token.objects.get(number=2).status == Token.Status.WAITING

    # The panel it was answered with works: its forms carry a valid CSRF token.
    press(doctor, "Start consultation")
    assert doctor.inner_text(".messages") == "Consultation with ORTH-001 started."
    assert doctor.evaluate("window.__sameDocument === true") and sockets == []
    assert doctor.locator("#live-status.live").count() == 1

    # Signed out meanwhile (the session gone): the press loads the page, which says so.
    doctor.context.clear_cookies()
    with doctor.expect_navigation():
        doctor.get_by_role("button", name="Complete", exact=True).click()
    doctor.wait_for_url("**/accounts/login/**")
    assert Token.objects.get(number=1).status == Token.Status.IN_CONSULTATION


def row_shape(page, token: str) -> list[str]:
    """The classes of a progress row and its descendants, in document order."""
    return page.eval_on_selector(
        f'.serving-row[data-token="{token}"]',
        "row => [row, ...row.querySelectorAll('*')].map(el => el.className)",
    )


def test_the_progress_board_shows_a_call_live_in_the_same_layout_as_the_page(
    server, new_page, orth, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    board = new_page(viewport={"width": 1280, "height": 900})
    board.goto(f"{server.url}/progress/")
    board.wait_for_selector('#live-status[data-status="live"]')

    doctor = new_page()
    log_in(doctor, server.url, "rao", "pw-rao")
    doctor.goto(f"{server.url}/doctor/")
    press(doctor, "Call next")
    row = '[data-department-slug="orth"] .serving-row[data-token="ORTH-001"]'
    board.wait_for_selector(row, timeout=5000)
    assert board.locator(f"{row} .serving-where .serving-room").inner_text() == "Room 4"
    assert board.locator(f"{row} .status-badge").inner_text() == "Called"
    # A token number is never broken over two lines, whatever the card's width.
    assert board.eval_on_selector(f"{row} .serving-token", "el => el.getClientRects().length") == 1
    live_shape = row_shape(board, "ORTH-001")

    board.reload()
    board.wait_for_selector(row)
    assert row_shape(board, "ORTH-001") == live_shape


def test_a_tv_in_another_time_zone_shows_the_hospitals_clock(server, new_page, orth, dr_rao):
    """Times on screens are the hospital's (TIME_ZONE, Asia/Kolkata), whatever the TV's
    browser is set to: here a browser on UTC."""
    services.issue_token(orth, "Asha Rao")
    called = services.call_next(dr_rao)
    display = new_page(viewport={"width": 1920, "height": 1080}, timezone_id="UTC")
    open_display(display, server.url)
    # The Unix epoch was 05:30 in India and midnight in UTC.
    assert "05:30" in display.evaluate("OPDLive.clockTime(new Date(0), false)")
    india = "(ago) => new Intl.DateTimeFormat('en-IN', {hour: '2-digit', minute: '2-digit', "
    india += "hourCycle: 'h23', timeZone: 'Asia/Kolkata'}).format(new Date(Date.now() - ago))"
    # The clock ticks every 10 s: it shows this minute's time, or the last one's.
    shown = display.locator("#tv-clock").inner_text()
    assert shown in [display.evaluate(india, 0), display.evaluate(india, 60000)]
    # The last calls list the call at India's time too.
    last = display.locator('.tv-recent-list li[data-token="ORTH-001"]')
    assert "Room 4" in last.inner_text()
    from django.utils import timezone

    assert last.locator("time").inner_text() == f"{timezone.localtime(called.called_at):%H:%M}"


def test_a_tv_with_many_departments_shows_them_all_in_pages(server, new_page, db):
    from hospital.models import ALL_WEEKDAYS, Department

    slugs = [
        Department.objects.create(name=f"Dept {i}", code=f"D{i}", open_weekdays=ALL_WEEKDAYS).slug
        for i in range(7)
    ]
    display = new_page(viewport={"width": 1920, "height": 1080})
    open_display(display, server.url, ",".join(slugs))
    assert display.locator("#tv-page").inner_text() == "Page 1 of 2"
    assert display.locator(".tv-dept:visible").count() == 4
    # Every department is on some page; the next page shows the other three.
    assert display.evaluate("document.querySelectorAll('.tv-dept').length") == 7
    display.wait_for_function(
        "() => document.getElementById('tv-page').textContent === 'Page 2 of 2'", timeout=15_000
    )
    assert display.locator(".tv-dept:visible").count() == 3


def test_token_numbers_are_big_enough_to_read_across_the_hall(
    server, new_page, orth, card, lab, pharmacy, dr_rao
):
    services.issue_token(orth, "Asha Rao")
    services.call_next(dr_rao)
    display = new_page(viewport={"width": 1920, "height": 1080})
    # Four departments on a page: the smallest the numbers get.
    open_display(display, server.url, f"orth,card,{lab.slug},{pharmacy.slug}")
    assert display.locator(".tv-dept:visible").count() == 4
    size = display.eval_on_selector(".tv-token", "el => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= 0.08 * 1080


def test_an_open_box_on_the_terminal_is_not_pulled_away_and_the_panel_catches_up_after(
    server, new_page, orth, dr_rao
):
    doctor = open_terminal(new_page(), server.url)
    doctor.locator("details.desk-away summary").click()  # "Pause or start late", half done

    take_a_token(new_page(), server.url, "Chitra Menon")
    doctor.wait_for_timeout(1500)  # the change is announced; the panel waits
    assert doctor.locator("details.desk-away").get_attribute("open") is not None
    assert doctor.locator("#doctor-panel td:has-text('Chitra Menon')").count() == 0

    doctor.locator("details.desk-away summary").click()  # closed: now it catches up
    doctor.wait_for_selector("#doctor-panel td:has-text('Chitra Menon')", timeout=3000)


def test_the_doctor_s_terminal_fits_a_phone(server, new_page, orth, dr_rao):
    for name in ["Chitra Venkataraman", "Bala Iyer"]:
        services.issue_token(orth, name)
    doctor = open_terminal(new_page(viewport={"width": 390, "height": 844}), server.url)
    assert doctor.evaluate("document.documentElement.scrollWidth") <= 390
    # Nothing sticks out of its card (the waiting list has five columns).
    overflowing = doctor.eval_on_selector_all(
        "#doctor-panel .card",
        "cards => cards.filter(c => c.scrollWidth > c.clientWidth).map(c => c.id || c.className)",
    )
    assert overflowing == []


def test_another_doctor_starting_a_consultation_is_not_fetched_again_by_this_terminal(
    server, new_page, orth, dr_rao, dr_iyer
):
    for name in ["Asha Rao", "Bala Iyer"]:
        services.issue_token(orth, name)
    rao = open_terminal(new_page(), server.url)
    fetched = []
    rao.on("request", lambda r: fetched.append(r.url) if "/doctor/panel/" in r.url else None)
    iyer = new_page()
    log_in(iyer, server.url, "iyer", "pw-iyer")
    iyer.goto(f"{server.url}/doctor/")

    # Iyer calls the first patient: off every doctor's waiting list, so Rao's lists follow
    # (the lists alone: Rao's own part did not change).
    press(iyer, "Call next")
    rao.wait_for_selector("#doctor-panel td:has-text('Asha Rao')", state="detached", timeout=3000)
    assert [url.split(server.url, 1)[1] for url in fetched] == ["/doctor/panel/lists/"]
    # Iyer starts the consultation: only Iyer's own panel changes. Rao's terminal takes the
    # new version without fetching its panel again.
    called = int(iyer.get_attribute("#doctor-panel", "data-version"))
    press(iyer, "Start consultation")
    started = int(iyer.get_attribute("#doctor-panel", "data-version"))
    assert started > called
    rao.wait_for_function(
        f"Number(document.querySelector('#doctor-panel').dataset.version) >= {started}",
        timeout=3000,
    )
    assert len(fetched) == 1
    assert rao.locator("#doctor-panel td:has-text('Bala Iyer')").count() == 1


def test_a_screen_that_keeps_hearing_pushes_does_not_ping_until_they_stop(
    server, new_page, orth, dr_rao
):
    display = new_page()
    pings = []
    display.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda data: pings.append(data) if "ping" in data else None),
    )
    display.clock.install()
    open_display(display, server.url)  # live: its first ping, on opening, was answered
    assert len(pings) == 1
    # The page's clock stands still, and moves only as the test says.
    now = datetime.datetime.fromtimestamp(display.evaluate("Date.now()") / 1000, datetime.UTC)
    display.clock.pause_at(now + datetime.timedelta(milliseconds=100))
    kiosk = new_page()
    for n, name in enumerate(["Asha Rao", "Bala Iyer", "Chitra Nair"], start=1):
        take_a_token(kiosk, server.url, name)
        shown = f'.tv-next-list li:has-text("ORTH-00{n}")'
        waited = 0
        while not display.locator(shown).count() and waited < 3_000:
            display.wait_for_timeout(100)  # the push's way, in real time
            display.clock.run_for(200)  # its drawing, on the page's clock
            waited += 200
        assert display.locator(shown).count() == 1
        display.clock.run_for(6_000 - waited)
    # 18 s with a push every 6 s: never the 8-10 s of quiet after which a page pings.
    assert len(pings) == 1
    assert "live" in display.get_attribute("#tv-status", "class")

    # Quiet: by ten seconds after the last push (seen `waited` ms into its 6 s) the page
    # has asked again, once, and stays live.
    display.clock.run_for(4_100 + waited)
    display.wait_for_timeout(300)  # the sent frame's event, on its way to the test
    assert len(pings) == 2
    assert '"version"' in pings[-1]
    assert "live" in display.get_attribute("#tv-status", "class")


def test_a_patient_skipped_at_another_desk_is_recalled_from_this_terminal_s_live_lists(
    server, new_page, orth, dr_rao, dr_iyer
):
    for name in ["Asha Rao", "Bala Iyer"]:
        services.issue_token(orth, name)
    rao = open_terminal(new_page(), server.url)
    rao.evaluate("window.__sameDocument = true")
    iyer = new_page()
    log_in(iyer, server.url, "iyer", "pw-iyer")
    iyer.goto(f"{server.url}/doctor/")
    press(iyer, "Call next")
    press(iyer, "Skip (no-show)")

    # Rao's lists change in place, and their Recall button posts the desk's own form.
    rao.wait_for_selector(".skipped-list li:has-text('Asha Rao')", timeout=3000)
    assert rao.evaluate("window.__sameDocument === true")
    press(rao, "Recall")
    assert "ORTH-001" in rao.inner_text(".messages") and rao.url.endswith("/doctor/")
    assert rao.locator("#doctor-panel td:has-text('Asha Rao')").count() == 1

    # A row's "Change" opens its category form; saving comes back to the terminal.
    with rao.expect_navigation():
        rao.locator("#doctor-panel tr:has-text('Bala Iyer') a.category-change").click()
    rao.select_option("select[name=category]", label="♥ Pregnant")
    rao.fill("input[name=reason]", "Told us at the desk")
    press(rao, "Save")
    assert "ORTH-002 is now ♥ Pregnant." in rao.inner_text(".messages")
