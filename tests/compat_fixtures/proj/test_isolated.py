"""IsolatedAsyncioTestCase, as the stdlib runs it."""

import asyncio
import contextlib
import unittest


@contextlib.asynccontextmanager
async def resource(log):
    log.append("enter")
    yield 42
    log.append("exit")


class TestIsolated(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.log = []
        if self._testMethodName == "test_async_setup_fails":
            raise RuntimeError("asyncSetUp failed")

    async def test_pass(self):
        await asyncio.sleep(0)

    async def test_fail(self):
        await asyncio.sleep(0)
        self.fail("async failure")

    async def test_error(self):
        await asyncio.sleep(0)
        raise LookupError("async error")

    async def test_async_setup_fails(self):
        pass

    async def test_enter_async_context(self):
        self.addAsyncCleanup(self._check_log)
        value = await self.enterAsyncContext(resource(self.log))
        self.assertEqual(value, 42)

    async def _check_log(self):
        self.assertEqual(self.log, ["enter", "exit"])

    async def test_async_cleanup_fails(self):
        async def bad():
            raise ValueError("async cleanup failed")

        self.addAsyncCleanup(bad)

    async def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                await asyncio.sleep(0)
                self.assertLess(i, 2)

    @unittest.skip("async skip")
    async def test_skipped(self):
        pass

    @unittest.expectedFailure
    async def test_expected_failure(self):
        raise ValueError("expected")

    def test_sync_method(self):
        self.assertEqual(self.log, [])

    async def test_wait_for_timeout(self):
        with self.assertRaises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), 0.001)
