"""'Your turn is near': the worker (queues.messages.check_near_turn) texts a waiting patient
who gave a mobile once Department.near_turn_ahead (3) patients are ahead of them, once per
stop, whatever recalls and emergencies do to the line afterwards, in their language, never
to a token without a mobile or a number that opted out."""

import re
import subprocess

import pytest
from django.contrib.auth import get_user_model

from appointments import notify
from appointments.models import Notification
from queues import messages, services
from queues.models import Token
from tests.conftest import WEDNESDAY, at

MOBILE = "+919812345678"
NOW = at(WEDNESDAY, 9)
TAMIL = re.compile(r"[\u0B80-\u0BFF]")


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(username="nurse", password="x", is_staff=True)


def issue(department, name, *, mobile="", language="en", minute=0, **extra):
    return services.issue_token(
        department, name, mobile=mobile, language=language, now=at(WEDNESDAY, 9, minute), **extra
    )


def serve(doctor, minute):
    """Dr. X calls the next patient, sees them and completes them."""
    now = at(WEDNESDAY, 10, minute)
    token = services.call_next(doctor, now=now)
    services.start_consultation(doctor, token, now=now)
    services.complete_token(doctor, token, now=now)
    return token


def near_messages(token=None):
    found = Notification.objects.filter(purpose=Notification.TURN_NEAR)
    return list(found.filter(token=token) if token else found)


def check(department, minute=30):
    return messages.check_near_turn(department.pk, WEDNESDAY, now=at(WEDNESDAY, 10, minute))


@pytest.fixture
def line(orth, dr_rao):
    """Five patients without a mobile, then Asha with one: five ahead of her."""
    for i in range(5):
        issue(orth, f"Patient {i}", minute=i)
    return issue(orth, "Asha Rao", mobile=MOBILE, minute=10)


def test_the_message_goes_once_when_three_are_ahead(orth, dr_rao, line):
    assert check(orth) == 0  # five ahead
    serve(dr_rao, 1)
    assert check(orth) == 0  # four ahead
    serve(dr_rao, 2)
    assert check(orth) == 1  # three ahead: now
    (sent,) = near_messages(line)
    assert (sent.to, sent.language, sent.status) == (MOBILE, "en", "pending")
    assert "ORTH-006" in sent.body and "3 patients are ahead of you" in sent.body
    assert "City General Hospital" in sent.body and "+91 80 2222 0000" in sent.body
    assert "OPD Queue" not in sent.body
    assert check(orth) == 0  # the worker woken again sends nothing more
    serve(dr_rao, 3)
    assert check(orth) == 0  # two ahead: still the one message
    assert len(near_messages()) == 1


def test_tokens_without_a_mobile_get_nothing(orth, dr_rao, line):
    for minute in range(5):
        serve(dr_rao, minute)
        check(orth, minute + 30)
    assert [n.token_id for n in Notification.objects.all()] == [line.pk] * 2  # issued, near
    assert {n.purpose for n in Notification.objects.all()} == {"token_issued", "turn_near"}


def test_an_emergency_pushing_the_patient_back_brings_no_second_message(
    orth, dr_rao, line, staff_user
):
    serve(dr_rao, 1)
    serve(dr_rao, 2)
    assert check(orth) == 1  # three ahead
    services.issue_token(orth, "Emergency", priority=Token.Priority.EMERGENCY, actor=staff_user,
                         now=at(WEDNESDAY, 10, 3))  # fmt: skip
    assert check(orth) == 0  # four ahead again: nothing
    serve(dr_rao, 4)  # the emergency
    assert check(orth) == 0  # three ahead again: told already
    assert len(near_messages(line)) == 1


def test_an_emergency_before_the_message_moves_it_to_the_right_moment(
    orth, dr_rao, line, staff_user
):
    serve(dr_rao, 1)  # four ahead
    services.issue_token(orth, "Emergency", priority=Token.Priority.EMERGENCY, actor=staff_user,
                         now=at(WEDNESDAY, 10, 2))  # fmt: skip
    serve(dr_rao, 3)  # the emergency: four ahead still
    assert check(orth) == 0
    serve(dr_rao, 4)
    assert check(orth) == 1  # three ahead
    assert "3 patients are ahead" in near_messages(line)[0].body


def test_a_recall_jumping_ahead_counts_and_a_recalled_patient_is_not_told_twice(orth, dr_rao, line):
    # Patient 0 does not come: skipped. Asha, four ahead, is told nothing yet.
    first = services.call_next(dr_rao, now=at(WEDNESDAY, 10))
    services.skip_token(dr_rao, first, now=at(WEDNESDAY, 10, 1))
    assert check(orth) == 0  # four ahead
    serve(dr_rao, 2)
    assert check(orth) == 1  # three ahead
    # Patient 0 is back: recalled ahead of everyone, Asha has four ahead again, then three.
    services.recall_token(dr_rao, first, now=at(WEDNESDAY, 10, 3))
    assert check(orth) == 0
    serve(dr_rao, 4)
    assert check(orth) == 0
    # Asha herself is called, skipped, recalled: at the front, and told nothing new.
    for minute in (5, 6, 7):
        serve(dr_rao, minute)
    called = services.call_next(dr_rao, now=at(WEDNESDAY, 10, 8))
    assert called == line
    services.skip_token(dr_rao, called, now=at(WEDNESDAY, 10, 9))
    services.recall_token(dr_rao, called, now=at(WEDNESDAY, 10, 10))
    assert check(orth, 40) == 0
    assert len(near_messages(line)) == 1


def test_a_number_that_opted_out_is_not_told(orth, dr_rao, line):
    notify.opt_out(MOBILE, how="test")
    serve(dr_rao, 1)
    serve(dr_rao, 2)
    assert check(orth) == 0
    assert near_messages() == []


def test_a_patient_already_near_when_issued_is_told_at_once(orth, dr_rao):
    issue(orth, "Ravi", minute=1)
    asha = issue(orth, "Asha", mobile=MOBILE, minute=2)
    assert check(orth) == 1
    assert "1 patient is ahead of you" in near_messages(asha)[0].body


def test_a_later_day_is_not_checked(orth):
    tomorrow = WEDNESDAY.replace(day=WEDNESDAY.day + 1)
    services.issue_token(orth, "Asha", mobile=MOBILE, service_date=tomorrow, now=NOW)
    assert messages.check_near_turn(orth.pk, tomorrow, now=at(WEDNESDAY, 10)) == 0
    assert messages.check_all_near_turns(now=at(WEDNESDAY, 10)) == 0
    assert near_messages() == []


def test_the_every_minute_check_covers_every_department(orth, card, dr_rao):
    issue(orth, "Asha", mobile=MOBILE)
    issue(card, "Ravi", mobile="+919812345679")
    assert messages.check_all_near_turns(now=at(WEDNESDAY, 10)) == 2
    assert messages.check_all_near_turns(now=at(WEDNESDAY, 10, 1)) == 0


@pytest.fixture
def tamil_catalog(settings, tmp_path):
    """A Tamil catalog of this feature's texts, compiled with msgfmt, ahead of the
    project's own (which translators fill later): the message must come out in Tamil."""
    po = tmp_path / "ta" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "%(hospital)s, help desk %(phone)s"\n'
        'msgstr "%(hospital)s, உதவி மையம் %(phone)s"\n\n'
        'msgid "%(number)s, %(department)s: your turn is near, %(count)s patient is ahead of '
        'you. Please stay close by."\n'
        'msgid_plural "%(number)s, %(department)s: your turn is near, %(count)s patients are '
        'ahead of you. Please stay close by."\n'
        'msgstr[0] "%(number)s, %(department)s: உங்கள் முறை நெருங்குகிறது, உங்களுக்கு முன் '
        '%(count)s நோயாளி. அருகில் இருங்கள்."\n'
        'msgstr[1] "%(number)s, %(department)s: உங்கள் முறை நெருங்குகிறது, உங்களுக்கு முன் '
        '%(count)s நோயாளிகள். அருகில் இருங்கள்."\n',
        encoding="utf-8",
    )
    subprocess.run(["msgfmt", "-o", str(po.with_suffix(".mo")), str(po)], check=True)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
    return tmp_path


def test_a_tamil_patient_is_told_in_tamil(orth, dr_rao, tamil_catalog):
    orth.name_ta = "எலும்பியல்"
    orth.save()
    for i in range(4):
        issue(orth, f"Patient {i}", minute=i)
    meena = issue(orth, "Meena", mobile=MOBILE, language="ta", minute=5)
    assert check(orth) == 0
    serve(dr_rao, 1)
    assert check(orth) == 1
    (sent,) = near_messages(meena)
    assert sent.language == "ta"
    assert sent.body == (
        "ORTH-005, எலும்பியல்: உங்கள் முறை நெருங்குகிறது, உங்களுக்கு முன் 3 நோயாளிகள். "
        "அருகில் இருங்கள். City General Hospital, உதவி மையம் +91 80 2222 0000"
    )
    assert TAMIL.search(sent.body)
    # The worker's language does not leak: the next English patient is told in English.
    ravi = issue(orth, "Ravi", mobile="+919812345679", minute=6)
    serve(dr_rao, 2)
    serve(dr_rao, 3)
    check(orth, 31)
    assert not TAMIL.search(near_messages(ravi)[0].body)


@pytest.mark.django_db(transaction=True)
def test_each_queue_change_wakes_the_worker_which_texts_the_patient(
    orth, dr_rao, settings, tmp_path
):
    """The real path: a call commits, the worker is woken (WORKER_SYNC runs its task at
    once), checks the line and sends the message through the outbox backend."""
    settings.SMS_BACKEND, settings.OUTBOX_DIR = "outbox", tmp_path
    for i in range(4):
        services.issue_token(orth, f"Patient {i}")
    asha = services.issue_token(orth, "Asha", mobile=MOBILE)
    assert [m["purpose"] for m in notify.outbox_messages()] == ["token_issued"]
    token = services.call_next(dr_rao)
    assert [m["purpose"] for m in notify.outbox_messages()] == ["token_issued", "turn_near"]
    services.start_consultation(dr_rao, token)
    services.complete_token(dr_rao, token)
    assert len(notify.outbox_messages()) == 2
    sent = Notification.objects.get(token=asha, purpose="turn_near")
    assert sent.status == "sent"
