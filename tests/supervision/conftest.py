import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from hospital.models import Roles


def make_supervisor(username: str = "super"):
    """A member of the Supervisor group (get_or_create: a transactional test elsewhere may
    have flushed the group the migration made)."""
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    user.groups.add(Group.objects.get_or_create(name=Roles.SUPERVISOR)[0])
    return user


@pytest.fixture
def supervisor(db):
    return make_supervisor()
