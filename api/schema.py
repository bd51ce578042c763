from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from api.errors import PROBLEM_JSON


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made in the admin (API keys): `Bearer opdq_…`.",
        }


class ProblemSerializer(serializers.Serializer):
    """An error (RFC 9457 problem details)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


# Every endpoint can answer these: no or a bad key, a key without the scope, too many
# requests.
ALWAYS = (401, 403, 429)


def responses(ok: dict, *errors: int) -> dict:
    """`extend_schema(responses=…)`: the success responses `ok` ({200: Serializer}) and
    the problem responses, as application/problem+json, for ALWAYS and `errors`."""
    result = dict(ok)
    for code in sorted({*ALWAYS, *errors}):
        result[(code, PROBLEM_JSON)] = ProblemSerializer
    return result
