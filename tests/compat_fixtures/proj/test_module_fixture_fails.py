"""A module whose setUpModule fails: none of its tests run."""

import unittest


def setUpModule() -> None:
    raise RuntimeError("setUpModule failed")


class TestNeverRuns(unittest.TestCase):
    def test_a(self) -> None:
        pass
