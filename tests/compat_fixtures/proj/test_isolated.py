"""IsolatedAsyncioTestCase, as the stdlib runs it."""

import asyncio
import contextlib
import unittest
from collections.abc import AsyncIterator


@contextlib.asynccontextmanager
async def resource(log: list[str]) -> AsyncIterator[int]:
    log.append("enter")
    yield 42
    log.append("exit")


class TestIsolated(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self) -> None:
        self.log: list[str] = []
        if self._testMethodName == "test_async_setup_fails":
            raise RuntimeError("asyncSetUp failed")

    async def test_pass(self) -> None:
        await asyncio.sleep(0)

    async def test_fail(self) -> None:
        await asyncio.sleep(0)
        self.fail("async failure")

    async def test_error(self) -> None:
        await asyncio.sleep(0)
        raise LookupError("async error")

    async def test_async_setup_fails(self) -> None:
        pass

    async def test_enter_async_context(self) -> None:
        self.addAsyncCleanup(self._check_log)
        value = await self.enterAsyncContext(resource(self.log))
        self.assertEqual(value, 42)

    async def _check_log(self) -> None:
        self.assertEqual(self.log, ["enter", "exit"])

    async def test_async_cleanup_fails(self) -> None:
        async def bad() -> None:
            raise ValueError("async cleanup failed")

        self.addAsyncCleanup(bad)

    async def test_subtests(self) -> None:
        for i in range(3):
            with self.subTest(i=i):
                await asyncio.sleep(0)
                self.assertLess(i, 2)

    @unittest.skip("async skip")
    async def test_skipped(self) -> None:
        pass

    @unittest.expectedFailure
    async def test_expected_failure(self) -> None:
        raise ValueError("expected")

    def test_sync_method(self) -> None:
        self.assertEqual(self.log, [])

    async def test_wait_for_timeout(self) -> None:
        with self.assertRaises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), 0.001)
