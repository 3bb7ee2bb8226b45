"""A module of a namespace package (no __init__.py): loadable by name."""

import unittest


class TestNamespace(unittest.TestCase):
    def test_ns_pass(self) -> None:
        pass

    def test_ns_fail(self) -> None:
        self.fail("namespace failure")
