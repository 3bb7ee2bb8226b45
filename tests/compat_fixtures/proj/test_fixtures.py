"""Module and class fixtures, including failing ones."""

import unittest

log: list[str] = []


def setUpModule() -> None:
    log.append("setUpModule")


def tearDownModule() -> None:
    log.append("tearDownModule")


class TestClassSetUpFails(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        raise RuntimeError("setUpClass failed")

    def test_never_runs(self) -> None:
        pass


class TestClassTearDownFails(unittest.TestCase):
    @classmethod
    def tearDownClass(cls) -> None:
        raise RuntimeError("tearDownClass failed")

    def test_runs(self) -> None:
        self.assertIn("setUpModule", log)


class TestClassCleanupFails(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.addClassCleanup(cls._bad)

    @classmethod
    def _bad(cls) -> None:
        raise OSError("class cleanup failed")

    def test_runs(self) -> None:
        pass


class TestAsyncClassFixtures(unittest.IsolatedAsyncioTestCase):
    shared: list[str]

    @classmethod
    def setUpClass(cls) -> None:
        cls.shared = ["ready"]

    async def test_sees_class_state(self) -> None:
        self.assertEqual(self.shared, ["ready"])
