"""Static files for the browsable API and /docs: collected files where they exist, the app folders otherwise."""
from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware


class _CollectedOnly:
    """Django settings as WhiteNoise reads them, without a STATIC_ROOT that was never collected."""

    def __init__(self, wrapped) -> None:
        self._wrapped = wrapped

    def __getattr__(self, name: str):
        value = getattr(self._wrapped, name)
        if name == "STATIC_ROOT" and value is not None and not value.is_dir():
            return None  # nothing collected yet (`make run`): the finders serve the app folders, no warning
        return value


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, quiet about a missing staticfiles/ folder (collectstatic runs only for the Lambda package)."""

    def __init__(self, get_response=None) -> None:
        super().__init__(get_response, settings=_CollectedOnly(settings))
