"""Assertions on RFC 9457 problem responses."""


def problem(status: int, title: str, detail: str, **extra) -> dict:
    """Returns the whole problem document a response must equal."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def invalid(errors: dict[str, list[str]]) -> dict:
    """Returns the problem document of a validation error with these field errors."""
    return problem(400, "Invalid request", "The request has invalid fields.", errors=errors)

# What a malformed date-time is told, in a body or a query string.
RFC3339_MESSAGE = ("Must be an RFC 3339 date-time with a time zone, such as 2026-11-25T06:14:00Z or "
                   "2026-11-25T08:14:00+02:00 (in a query string, write + as %2B).")
