"""Who is calling: the identity API Gateway vouches for, read from the request context apig-wsgi passes on."""
from dataclasses import dataclass

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

# apig-wsgi puts the event's requestContext here (both payload formats); absent off Lambda.
REQUEST_CONTEXT_KEY = "apig_wsgi.request_context"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller; `owner` is the provider-qualified id that tasks record."""

    owner: str
    is_authenticated = True


def _get(data, *path: str):
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data if isinstance(data, str) and data else None


def identity_from(context: dict | None) -> str | None:
    """Returns "<provider>:<id>" for the strongest identity in an API Gateway request context, or None.

    Cognito (or any JWT authorizer) `sub`, then the IAM caller ARN, then a Lambda authorizer's
    principal, then the API key id; REST API (payload 1.0) and HTTP API (2.0) shapes alike.
    """
    if not isinstance(context, dict):
        return None
    candidates = (
        ("cognito", ("authorizer", "claims", "sub")),  # REST API, Cognito user pool authorizer
        ("cognito", ("authorizer", "jwt", "claims", "sub")),  # HTTP API, JWT authorizer
        ("iam", ("identity", "userArn")),  # REST API, IAM authorization (null otherwise)
        ("iam", ("authorizer", "iam", "userArn")),  # HTTP API, IAM authorization
        ("lambda", ("authorizer", "principalId")),  # REST API, Lambda authorizer
        ("apikey", ("identity", "apiKeyId")),  # REST API, usage-plan API key
    )
    for provider, path in candidates:
        value = _get(context, *path)
        if value is not None:
            return f"{provider}:{value}"
    return None


class ApiGatewayIdentityAuthentication(BaseAuthentication):
    """DRF authentication: the caller API Gateway already authenticated, if any (never a credential check here)."""

    def authenticate(self, request: Request) -> tuple[Caller, None] | None:
        owner = identity_from(request._request.META.get(REQUEST_CONTEXT_KEY))
        return None if owner is None else (Caller(owner), None)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="taskapi"'


class IdentityRequired(BasePermission):
    """Lets anyone in (demo mode) unless TASKS_REQUIRE_IDENTITY is on; then only identified callers (else 401)."""

    message = "This API needs an identity from API Gateway (Cognito, IAM or an API key)."

    def has_permission(self, request: Request, view) -> bool:
        if settings.TASKS_REQUIRE_IDENTITY and not isinstance(request.user, Caller):
            raise NotAuthenticated(self.message)  # DRF would otherwise answer with its generic wording
        return True


def owner_of(request: Request) -> str | None:
    """Returns the caller's owner id, None for an anonymous caller (demo mode)."""
    return request.user.owner if isinstance(request.user, Caller) else None

