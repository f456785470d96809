"""The deployed stages as zappa_settings.json defines them: the one source of function, API and table names."""
import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

DEFAULT_PROJECT = "taskapi"
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class StageNotFound(Exception):
    """The stage is not defined in zappa_settings.json, or its name is not a valid stage name."""


def _slug(text: str) -> str:
    # Zappa names the function slugify(project_name + "-" + stage): lower case, runs of other characters -> "-".
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class Stage:
    name: str
    project_name: str
    region: str
    tasks_table: str
    tags_table: str = ""  # issue 18's tags table; "" -> "<tasks_table>-tags", as settings derives it

    def __post_init__(self) -> None:
        if not self.tags_table:
            object.__setattr__(self, "tags_table", f"{self.tasks_table}-tags")

    @property
    def function_name(self) -> str:
        return _slug(f"{self.project_name}-{self.name}")

    @property
    def api_name(self) -> str:
        # Zappa names the API Gateway REST API after the function, and its stage after the Zappa stage.
        return self.function_name

    @property
    def function_log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def api_log_group(self, api_id: str) -> str:
        """Returns the API's execution log group; API Gateway names it after the API's id."""
        return f"API-Gateway-Execution-Logs_{api_id}/{self.name}"


def stage_default() -> str:
    """Returns STAGE when it names a deployed stage, else "dev" (the local and test stages are never deployed)."""
    return "dev" if settings.IS_LOCAL else settings.STAGE


def _stages_read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise StageNotFound(f"cannot read {path.name}: {error}") from None


def _stage_config(stages: dict, name: str, seen: tuple[str, ...] = ()) -> dict:
    config = stages.get(name)
    if not isinstance(config, dict) or name in seen:
        known = ", ".join(sorted(stages))
        raise StageNotFound(f"stage {name!r} is not defined in zappa_settings.json (stages: {known})")
    parent = config.get("extends")  # Zappa's stage inheritance
    if parent is None:
        return config
    return {**_stage_config(stages, parent, (*seen, name)), **config}


def stage_load(name: str, *, path: Path | None = None) -> Stage:
    """Returns the named stage from zappa_settings.json; without that file, the defaults of a stage of that name.

    Raises StageNotFound when the file exists but does not define the stage.
    """
    if not _STAGE_NAME.match(name):
        raise StageNotFound(f"{name!r} is not a stage name (letters, digits, - and _ only)")
    stages = _stages_read(Path(path or settings.ZAPPA_SETTINGS_FILE))
    config = {} if stages is None else _stage_config(stages, name)
    environment = config.get("aws_environment_variables") or {}
    this_process = name == settings.STAGE
    return Stage(
        name=name,
        project_name=config.get("project_name") or DEFAULT_PROJECT,
        region=config.get("aws_region") or settings.AWS_REGION,
        tasks_table=environment.get("TASKS_TABLE")
        or (settings.TASKS_TABLE if this_process else f"{DEFAULT_PROJECT}-{name}-tasks"),
        tags_table=environment.get("TAGS_TABLE") or (settings.TAGS_TABLE if this_process else ""),
    )


def stage_environment(name: str, *, path: Path | None = None) -> dict[str, str]:
    """Returns the stage's `aws_environment_variables` from zappa_settings.json ({} without the file)."""
    stage_load(name, path=path)  # validates the name and that the stage exists
    stages = _stages_read(Path(path or settings.ZAPPA_SETTINGS_FILE))
    return dict((_stage_config(stages, name).get("aws_environment_variables") or {}) if stages else {})
