"""aiounit groups: the same outcomes whoever runs them, grouped or one by one."""

import asyncio
import unittest

import aiounit


class TestGrouped(aiounit.AsyncTestCase):
    @aiounit.group("g", timeout=5)
    async def test_a(self) -> None:
        print("output of test_a")
        await asyncio.sleep(0)

    @aiounit.group("g", timeout=5)
    async def test_b_fails(self) -> None:
        print("output of test_b_fails")
        await asyncio.sleep(0)
        self.assertEqual("b", "c")

    @aiounit.group("g", timeout=5)
    def test_sync_member(self) -> None:
        print("output of test_sync_member")

    async def test_alone(self) -> None:
        pass


@aiounit.group()
class TestPlainGroup(unittest.TestCase):
    def test_x(self) -> None:
        print("output of test_x")

    @unittest.expectedFailure
    def test_y(self) -> None:
        raise ValueError

    def test_z_fails(self) -> None:
        print("output of test_z_fails")
        self.fail("z")
