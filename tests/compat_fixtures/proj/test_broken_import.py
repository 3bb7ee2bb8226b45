"""A test module that fails to import."""

import unittest

import compat_fixture_module_that_does_not_exist  # type: ignore[import-not-found]  # noqa: F401 (the import error is the point)


class TestUnreachable(unittest.TestCase):
    def test_a(self) -> None:
        pass
