"""The load_tests protocol in a module: a custom selection plus doctests."""

import doctest
import unittest

import doctested


class TestChosen(unittest.TestCase):
    def test_kept(self):
        pass

    def test_dropped(self):
        raise AssertionError("load_tests leaves this out")


class TestExtra(unittest.TestCase):
    def runTest(self):
        pass


def load_tests(loader, standard_tests, pattern):
    suite = unittest.TestSuite()
    for test in standard_tests:
        for case in test:
            if case.id().endswith("test_dropped"):
                continue
            suite.addTest(case)
    suite.addTests(doctest.DocTestSuite(doctested))
    return suite
