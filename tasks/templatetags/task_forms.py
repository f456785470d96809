"""Template filters for the task fields of the browsable API's HTML forms."""
from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def datetime_local(value) -> str:
    """Returns an RFC 3339 date-time as a UTC `datetime-local` input value, or '' when it is not one."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    # Milliseconds too (the input's step is 0.001), so saving the form unchanged keeps the stored time.
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@register.filter
def one_per_line(value) -> str:
    """Returns a list as one item per line (tags hold no line breaks); any other value as text ('' for None)."""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(item) for item in value)
    return "" if value is None else str(value)


@register.filter
def error_messages(errors) -> list[str]:
    """Returns a field's errors as flat messages; a list's item errors read `Tag 2: ...`."""
    if not errors:
        return []
    if isinstance(errors, dict):
        return [f"Tag {int(index) + 1}: {message}" for index, messages in errors.items()
                for message in error_messages(messages)]
    if isinstance(errors, (list, tuple)):
        return [message for item in errors for message in error_messages(item)]
    return [str(errors)]
