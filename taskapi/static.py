"""Static files for the browsable API and /docs: collected files where they exist, the app folders otherwise."""
import threading

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
    """WhiteNoise, quiet about a missing staticfiles/ folder, that indexes the files on the first request for one.

    Indexing stats every static file, about 2% of a Lambda cold start that API requests never need.
    WhiteNoise serves nothing outside the prefixes it indexes, so until then other requests pass through.
    """

    def __init__(self, get_response=None) -> None:
        self._deferred: list | None = []
        self._indexing = threading.Lock()  # a threaded server's concurrent first requests wait for the whole index
        super().__init__(get_response, settings=_CollectedOnly(settings))
        prefixes = {prefix for _, prefix in self._deferred}
        # Files added at the site's root (WHITENOISE_ROOT) could answer any path: index on the first request.
        self._index_on = self.static_prefix if prefixes <= {self.static_prefix} else ""

    def add_files(self, root, prefix=None):
        if self._deferred is None:
            return super().add_files(root, prefix=prefix)
        self._deferred.append((lambda: super(StaticFilesMiddleware, self).add_files(root, prefix=prefix), prefix))
        return None

    def add_files_from_finders(self):
        if self._deferred is None:
            return super().add_files_from_finders()
        self._deferred.append((super().add_files_from_finders, self.static_prefix))
        return None

    def __call__(self, request):
        if self._deferred is not None:
            if not request.path_info.startswith(self._index_on):
                return self.get_response(request)
            with self._indexing:
                if self._deferred is not None:
                    for add, _ in self._deferred:
                        add()  # WhiteNoise's own add_files and add_files_from_finders, not the deferring ones
                    self._deferred = None
        return super().__call__(request)
