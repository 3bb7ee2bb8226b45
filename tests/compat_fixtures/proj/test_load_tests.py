"""The load_tests protocol in a module: a custom selection plus doctests."""

import doctest
import unittest

import doctested


class TestChosen(unittest.TestCase):
    def test_kept(self) -> None:
        pass

    def test_dropped(self) -> None:
        raise AssertionError("load_tests leaves this out")


class TestExtra(unittest.TestCase):
    def runTest(self) -> None:
        pass


def load_tests(
    loader: unittest.TestLoader, standard_tests: unittest.TestSuite, pattern: str | None
) -> unittest.TestSuite:
    suite = unittest.TestSuite()
    for test in standard_tests:
        assert isinstance(test, unittest.TestSuite)  # one per TestCase class
        for case in test:
            assert isinstance(case, unittest.TestCase)
            if case.id().endswith("test_dropped"):
                continue
            suite.addTest(case)
    suite.addTests(doctest.DocTestSuite(doctested))
    return suite
