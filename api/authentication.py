from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api.keys import find_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer opdq_…`: the integration's key (api.keys)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the key as: Authorization: Bearer <key>.")
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("That API key is not valid.")) from None
        key = find_key(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("That API key is not valid, or was revoked."))
        return key.user, key

    def authenticate_header(self, request) -> str:
        # A 401 (not a 403) for a request without credentials.
        return 'Bearer realm="api"'
