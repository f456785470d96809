"""Assertions on RFC 9457 problem responses."""


def problem(status: int, title: str, detail: str, **extra) -> dict:
    """Returns the whole problem document a response must equal."""
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def invalid(errors: dict[str, list[str]]) -> dict:
    """Returns the problem document of a validation error with these field errors."""
    return problem(400, "Invalid request", "The request has invalid fields.", errors=errors)
