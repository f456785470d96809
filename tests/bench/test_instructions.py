"""bench.instructions counts what a process executes under valgrind, the same each time; no timing is asserted."""
import json

import pytest

from bench import instructions

pytestmark = pytest.mark.skipif(not instructions.available(), reason="valgrind is not installed (.ci/run installs it)")


@pytest.fixture
def event_file(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"path": "/tasks/x"}))
    return path


def test_counts_are_repeatable(tmp_path, event_file):
    def count() -> int:
        return instructions.count(code_dir=tmp_path, path=[], handler=instructions.NULL_HANDLER,
                                  event_file=event_file, env={}, warm=0)

    once, again = count(), count()
    # A bare interpreter start-up runs tens of millions of instructions; a fixed hash seed makes reruns agree.
    assert once > 10_000_000
    assert abs(again - once) / once < 0.005


def test_a_handler_that_cannot_be_imported_is_an_error_not_a_count(tmp_path, event_file):
    with pytest.raises(RuntimeError, match="under valgrind failed"):
        instructions.count(code_dir=tmp_path, path=[], handler="no_such_module:handler", event_file=event_file,
                           env={}, warm=0)

