"""Tests that misbehave in every way aiounit reports, in one group.

Run them with ``python run.py`` (from this directory) or

    python -m aiounit -b --grace 0.2 discover -s . -t .

Every test here runs concurrently with the others on one event loop; each
comment says what aiounit reports for it.
"""

import asyncio
import logging
import sys
import time
import unittest

import aiounit

logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("orders")


async def poll_forever() -> None:
    try:
        while True:
            await asyncio.sleep(0.01)
    finally:
        print("poller cancelled")  # runs before its test is reported


@aiounit.group("misbehaving", timeout=0.5)
class TestMisbehaving(aiounit.AsyncTestCase):
    async def test_prints_and_fails(self):
        # -b: all of this is shown with this test's failure, and only there.
        print("order 42 created")
        await asyncio.to_thread(print, "printed from a worker thread")
        log.warning("payment service is slow")
        self.assertEqual(await asyncio.sleep(0, "paid"), "refunded")

    async def test_prints_and_passes(self):
        # -b: a passing test's output is dropped, as unittest drops it.
        print("this line is never shown with -b")

    async def test_blocks_the_loop(self):
        # WARNING: blocked the event loop for 0.30 s ... (an error with --fail-on-blocking)
        await asyncio.sleep(0.05)
        time.sleep(0.3)

    async def test_leaks_a_task(self):
        # WARNING: left 1 task(s) running ... (an error with --fail-on-leaks)
        asyncio.create_task(poll_forever(), name="poller")
        await asyncio.sleep(0)

    async def test_callback_raises(self):
        # WARNING: the callback's ZeroDivisionError (an error with --fail-on-loop-errors).
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    async def test_ignores_cancellation(self):
        # ERROR: TestTimeoutError ... ignored its cancellation ...; it was given up on.
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                pass

    async def test_blocks_past_its_timeout(self):
        # ERROR: TestTimeoutError ... blocked the event loop ...; interrupted.
        await asyncio.sleep(0.4)
        time.sleep(10)

    async def test_stops_the_loop(self):
        # ERROR: RuntimeError: a test must not stop the shared event loop of its group
        asyncio.get_running_loop().stop()

    async def test_nested_asyncio_run(self):
        # ERROR: RuntimeError: asyncio.run() cannot be called from a running event loop
        coro = asyncio.sleep(0)
        try:
            asyncio.run(coro)
        finally:
            coro.close()

    async def test_raises_system_exit(self):
        # ERROR: SystemExit: 3 (the run goes on)
        sys.exit(3)

    async def test_recurses_forever(self):
        # ERROR: RecursionError
        def down():
            return down()

        down()

    async def test_unprintable_exception(self):
        # ERROR: ...Unprintable: <exception str() failed>
        class Unprintable(Exception):
            def __str__(self):
                raise ValueError("no str for you")

        raise Unprintable

    async def test_well_behaved(self):
        # ok: none of its peers' trouble touches it.
        for _ in range(3):
            await asyncio.sleep(0)


class TestAfterTheGroup(unittest.TestCase):
    def test_still_runs(self):
        # ok: the run goes on after the group.
        pass
