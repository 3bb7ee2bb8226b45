"""PyCharm's diff view, per test, while the tests of a group run together.

teamcity-messages (PyCharm's test runner) patches ``assertEqual`` to keep the
last failed comparison in a thread-local (``teamcity.jb_local_exc_store``),
and its result's ``addFailure``/``addError`` take it from there to show
"expected"/"actual".  Group members interleave on one thread and are reported
later, so one test's comparison would be shown with another's failure, or a
plain error as a comparison failure.

During a group that thread-local keeps one value per test, and the recorder
takes a test's value when it records the failure and puts it back just before
replaying it (``taken()``/``put_back()``).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator

from ._capture import CURRENT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__unittest = True

_STORE = "teamcity.jb_local_exc_store"
#: what taken() returns when teamcity-messages is not in use
NOTHING = object()


class _PerTest:
    """Stands in for the store's ``threading.local``: one value per running test."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.values: dict[Any, Any] = {}

    @property
    def exception(self) -> Any:
        member = CURRENT.get()
        if member is None or member.finished:
            return self.real.exception
        try:
            return self.values[member]
        except KeyError:
            raise AttributeError("exception") from None

    @exception.setter
    def exception(self, value: Any) -> None:
        member = CURRENT.get()
        if member is None or member.finished:
            self.real.exception = value
        else:
            self.values[member] = value


@contextlib.contextmanager
def per_test_comparisons() -> Iterator[None]:
    """Keep teamcity-messages' last failed comparison per test during a group."""
    if "teamcity" not in sys.modules:
        yield
        return
    try:
        # (installed or not, untyped: no import statement for the type checker)
        store: Any = importlib.import_module(_STORE)
    except ImportError:
        yield
        return
    real = store._JB_PYTEST_LOCAL
    store._JB_PYTEST_LOCAL = _PerTest(real)
    try:
        yield
    finally:
        store._JB_PYTEST_LOCAL = real


def taken() -> Any:
    """The running test's last failed comparison, cleared (as the result would)."""
    store = sys.modules.get(_STORE)
    if store is None or not isinstance(getattr(store, "_JB_PYTEST_LOCAL", None), _PerTest):
        return NOTHING
    return store.get_exception()


def put_back(value: Any) -> None:
    """Make *value* what the result's ``addFailure``/``addError`` finds now."""
    store = sys.modules.get(_STORE)
    if store is not None and value is not NOTHING:
        store.store_exception(value)
