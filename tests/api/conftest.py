import pytest
from rest_framework.test import APIClient

from api.keys import create_key
from api.models import Scope


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
