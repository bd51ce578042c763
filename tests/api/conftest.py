import pytest
from rest_framework.test import APIClient

from api.keys import create_key
from api.models import Scope


def client_as(*, scopes: list | None = None, user=None, name: str = "Integration") -> APIClient:
    """An API client holding a new key with `scopes`, or signed in as `user` (a staff
    member's session), or neither (anonymous)."""
    client = APIClient()
    if scopes is not None:
        _, raw = create_key(name, list(scopes))
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    elif user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_key(db):
    """make_key(*scopes) -> (ApiKey, its secret)."""

    def make(*scopes, name=None):
        return create_key(name or f"Integration {'+'.join(scopes) or 'none'}", list(scopes))

    return make


@pytest.fixture
def reader(api, make_key):
    """An API client holding a key that may read."""
    _, raw = make_key(Scope.READ)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api
