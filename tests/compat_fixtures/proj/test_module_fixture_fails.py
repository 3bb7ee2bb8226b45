"""A module whose setUpModule fails: none of its tests run."""

import unittest


def setUpModule():
    raise RuntimeError("setUpModule failed")


class TestNeverRuns(unittest.TestCase):
    def test_a(self):
        pass
