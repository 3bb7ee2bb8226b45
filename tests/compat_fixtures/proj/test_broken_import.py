"""A test module that fails to import."""

import unittest

import compat_fixture_module_that_does_not_exist  # noqa: F401


class TestUnreachable(unittest.TestCase):
    def test_a(self) -> None:
        pass
