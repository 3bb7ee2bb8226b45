"""Module and class fixtures, including failing ones."""

import unittest

log = []


def setUpModule():
    log.append("setUpModule")


def tearDownModule():
    log.append("tearDownModule")


class TestClassSetUpFails(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise RuntimeError("setUpClass failed")

    def test_never_runs(self):
        pass


class TestClassTearDownFails(unittest.TestCase):
    @classmethod
    def tearDownClass(cls):
        raise RuntimeError("tearDownClass failed")

    def test_runs(self):
        self.assertIn("setUpModule", log)


class TestClassCleanupFails(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.addClassCleanup(cls._bad)

    @classmethod
    def _bad(cls):
        raise OSError("class cleanup failed")

    def test_runs(self):
        pass


class TestAsyncClassFixtures(unittest.IsolatedAsyncioTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = ["ready"]

    async def test_sees_class_state(self):
        self.assertEqual(self.shared, ["ready"])
