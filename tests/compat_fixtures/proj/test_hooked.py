"""A module that opts into aiounit with ``from aiounit import load_tests``."""

import asyncio
import unittest

import aiounit
from aiounit import load_tests  # noqa: F401


class TestHooked(aiounit.AsyncTestCase):
    ready: bool

    @classmethod
    def setUpClass(cls) -> None:
        cls.ready = True

    @aiounit.group("io")
    async def test_one(self) -> None:
        self.assertTrue(self.ready)
        await asyncio.sleep(0)

    @aiounit.group("io")
    async def test_two(self) -> None:
        await asyncio.sleep(0)

    @aiounit.group("io")
    async def test_skips(self) -> None:
        self.skipTest("skipped in a group")

    @aiounit.group("io")
    async def test_subtests(self) -> None:
        for i in range(2):
            with self.subTest(i=i):
                await asyncio.sleep(0)
                self.assertEqual(i, 0)


class TestPlainNeighbour(unittest.TestCase):
    def test_plain(self) -> None:
        pass
