"""The JSON contract: task input, task output and listing query parameters."""
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers
from rest_framework.utils import html
from rest_framework.utils.serializer_helpers import BindingDict

from tasks.domain import DESCRIPTION_MAX, PRIORITIES, STATUSES, TAG_MAX, TAGS_MAX, TITLE_MAX, timestamp

READ_ONLY_FIELDS = ("taskId", "createdAt", "updatedAt", "version")
# RFC 3339 section 5.6 date-time: a full date, a time with seconds, a zone (Z or an offset).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
# Fields the browsable API's own forms add to a submission; only ignored in form (HTML) input.
FORM_CONTROL_FIELDS = frozenset({"csrfmiddlewaretoken", "_method", "_content_type", "_content", "_null"})


class RFC3339Field(serializers.Field):
    """An RFC 3339 date-time with an offset, normalised to the fixed-width UTC task timestamp."""

    default_error_messages = {
        "invalid": "Must be an RFC 3339 date-time with a time zone, such as 2026-11-25T06:14:00Z or "
                   "2026-11-25T08:14:00+02:00 (in a query string, write + as %2B).",
    }

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str) or not _RFC3339.fullmatch(data):
            self.fail("invalid")
        try:
            # Python parses at most microseconds; finer digits only matter below the millisecond we keep.
            moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", data.upper()))
            return timestamp(moment)
        except (ValueError, OverflowError):  # e.g. month 13, or year 1 with an offset that leaves year 1
            self.fail("invalid")

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        # A browser's datetime-local input has no offset: the browsable API's form is in UTC.
        if html.is_html_input(dictionary) and isinstance(value, str) and value and _is_naive(value):
            # Milliseconds too: the form's input carries them (step 0.001), so a round trip keeps them.
            moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
            return moment.isoformat(timespec="milliseconds")
        return value

    def to_representation(self, value):
        return value


def _is_naive(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


class TagListField(serializers.ListField):
    """A list of strings; in an HTML form it is one textarea with a tag per line (tags may hold commas)."""

    default_error_messages = {"not_a_list": "Must be a list of strings, such as [\"home\", \"errands\"]."}

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            if len(values) == 1:
                return [tag for tag in values[0].splitlines() if tag.strip()]
        return super().get_value(dictionary)


# C0 controls, DEL and C1 controls; multi-line text may still hold tabs and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and control characters instead of storing them.

    `multiline` text (a description) may hold tabs and line breaks; other text holds none.
    """

    default_error_messages = {
        "invalid": "Must be a string.",
        "control": "Must not contain control characters.",
        "control_multiline": "Must not contain control characters other than tab and line breaks.",
    }

    def __init__(self, *, multiline: bool = False, **kwargs) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if (_CONTROL_EXCEPT_LINES if self.multiline else _CONTROL).search(data):
            self.fail("control_multiline" if self.multiline else "control")
        return super().to_internal_value(data)


class DescriptionField(StrictCharField):
    """Multi-line text that may be null; in an HTML form, `_null` says whether an empty textarea means null."""

    def get_value(self, dictionary):
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(value, str):
            value = value.replace("\r\n", "\n")  # browsers submit every textarea line break as CRLF
            if value == "" and self.field_name in dictionary.getlist("_null"):
                return None
        return value


class TaskChoiceField(serializers.ChoiceField):
    """A choice whose error names the allowed values."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        allowed = ", ".join(str(choice) for choice in self.choices)
        self.error_messages["invalid_choice"] = f"Must be one of: {allowed}."


class StrictIntegerField(serializers.IntegerField):
    """A query-string integer: decimal digits only, so `5.0`, `1e2` and ` 5` are refused."""

    default_error_messages = {"invalid": "Must be a whole number written with digits only, such as 20."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, str) and data.isascii()
                                                                   and data.isdigit())):
            self.fail("invalid")
        return super().to_internal_value(data)


class TaskWriteSerializer(serializers.Serializer):
    """What a client sends to create a task; omitted fields take their defaults."""

    title = StrictCharField(max_length=TITLE_MAX)
    description = DescriptionField(max_length=DESCRIPTION_MAX, allow_blank=True, allow_null=True, required=False,
                                  trim_whitespace=False, multiline=True,
                                  style={"template": "tasks/fields/description.html"})
    status = TaskChoiceField(choices=STATUSES, default="pending", initial="pending")
    priority = TaskChoiceField(choices=PRIORITIES, default="medium", initial="medium")
    dueDate = RFC3339Field(source="due_date", allow_null=True, required=False,
                           help_text="RFC 3339 date-time; stored and returned in UTC.",
                           style={"template": "tasks/fields/due_date.html"})
    tags = TagListField(child=StrictCharField(min_length=1, max_length=TAG_MAX), max_length=TAGS_MAX, required=False,
                        style={"template": "tasks/fields/tags.html"})

    def to_internal_value(self, data):
        errors = {}
        if isinstance(data, Mapping):
            ignored = FORM_CONTROL_FIELDS if html.is_html_input(data) else frozenset()
            for name in data:
                if name in ignored:
                    continue
                if name in READ_ONLY_FIELDS:
                    errors[name] = ["This field is read-only."]
                elif name not in self.fields:
                    errors[name] = ["Unknown field."]
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**error.detail, **errors}) from None
        if errors:
            raise serializers.ValidationError(errors)
        if self.partial and not validated:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Send at least one of: {', '.join(self.fields)}."]}
            )
        return validated

    def validate_tags(self, tags: list[str]) -> list[str]:
        if len(set(tags)) != len(tags):
            raise serializers.ValidationError("Tags must be distinct.")
        return tags


class TaskUpdateSerializer(TaskWriteSerializer):
    """What a client sends to change a task: only the fields to change; nothing here has a default."""

    # Creation defaults stay on TaskWriteSerializer, so the schema gives a generated client or a docs
    # form no value to fill into a field the caller did not set.

    status = TaskChoiceField(choices=STATUSES, required=False)
    priority = TaskChoiceField(choices=PRIORITIES, required=False)


class OutputSerializer(serializers.Serializer):
    """A read-only serializer whose fields are bound once per class, not deep-copied per instance.

    DRF deep-copies every declared field for each serializer instance: the largest framework cost of
    answering with a task. Output fields keep no per-request state and these serializers take no
    context, so one bound set serves every instance. Never for input: validation state is per instance.
    """

    @property
    def fields(self) -> BindingDict:
        shared = type(self).__dict__.get("_shared_fields")
        if shared is None:
            shared = BindingDict(self)
            for name, field in self.get_fields().items():
                shared[name] = field
            type(self)._shared_fields = shared
        return shared

    def to_representation(self, instance) -> dict:
        """DRF's Serializer.to_representation, reading each plain field's one source attribute straight off an
        object (DRF walks its generic path per field, ~10 K instructions each). Anything else, a
        mapping, a callable or missing attribute, a field with its own get_attribute, takes DRF's own path."""
        plan = type(self).__dict__.get("_plan")
        if plan is None:
            plan = [(field.field_name, field, field.source_attrs[0] if _plain_source(field) else None)
                    for field in self._readable_fields]
            type(self)._plan = plan
        if isinstance(instance, Mapping):
            return super().to_representation(instance)
        representation = {}
        for name, field, attr in plan:
            if attr is None:
                return super().to_representation(instance)
            try:
                attribute = getattr(instance, attr)
            except (AttributeError, KeyError, ObjectDoesNotExist):
                return super().to_representation(instance)  # DRF's defaults, SkipField and messages
            if callable(attribute):
                return super().to_representation(instance)
            representation[name] = None if attribute is None else field.to_representation(attribute)
        return representation


def _plain_source(field: serializers.Field) -> bool:
    """Whether DRF would read the field as one attribute of the instance (no source="*", no own get_attribute)."""
    return type(field).get_attribute is serializers.Field.get_attribute and len(field.source_attrs) == 1


class TaskSerializer(OutputSerializer):
    """A task as the API returns it."""

    taskId = serializers.UUIDField(source="task_id", read_only=True)
    title = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=STATUSES, read_only=True)
    priority = serializers.ChoiceField(choices=PRIORITIES, read_only=True)
    dueDate = RFC3339Field(source="due_date", read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    createdAt = RFC3339Field(source="created_at", read_only=True)
    updatedAt = RFC3339Field(source="updated_at", read_only=True)
    version = serializers.IntegerField(read_only=True)


class TaskDeletedSerializer(serializers.Serializer):
    taskId = serializers.UUIDField(read_only=True)
    deleted = serializers.BooleanField(read_only=True)


class TaskPageSerializer(serializers.Serializer):
    results = TaskSerializer(many=True, read_only=True)
    next = serializers.URLField(read_only=True, allow_null=True,
                                help_text="The next page with the same filters, or null when no more tasks match.")


class TaskListQuerySerializer(serializers.Serializer):
    """Query parameters of GET /tasks."""

    status = TaskChoiceField(choices=STATUSES, required=False)
    priority = TaskChoiceField(choices=PRIORITIES, required=False)
    tag = StrictCharField(min_length=1, max_length=TAG_MAX, required=False)
    createdFrom = RFC3339Field(required=False, help_text="Only tasks created at or after this time.")
    createdTo = RFC3339Field(required=False, help_text="Only tasks created at or before this time.")
    order = TaskChoiceField(choices=("desc", "asc"), default="desc",
                            help_text="desc (newest first, the default) or asc.")
    limit = StrictIntegerField(min_value=1, default=20, help_text="1-100, default 20; larger values are capped at 100.")
    cursor = serializers.CharField(required=False, help_text="Opaque; copy it from `next`.")

    def validate_limit(self, limit: int) -> int:
        return min(limit, 100)

    def validate(self, attrs):
        if attrs.get("createdFrom") and attrs.get("createdTo") and attrs["createdFrom"] > attrs["createdTo"]:
            raise serializers.ValidationError({"createdFrom": ["Must not be after createdTo."]})
        return attrs
