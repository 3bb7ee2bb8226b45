"""A test that blocks the loop and cannot be interrupted (run.py runs this).

    python -m aiounit stuck_demo

The watchdog raises TestTimeoutError inside test_c_stuck past its timeout plus
the grace period; the test swallows it, so the run is aborted: every thread's
stack, the group's tasks, what ran before, the stuck test, exit status 1.
"""

import asyncio
import time

import aiounit


@aiounit.group("stuck", timeout=0.2)
class TestStuck(aiounit.AsyncTestCase):
    async def test_a_quick(self):
        pass

    async def test_b_waits(self):
        await asyncio.Event().wait()

    async def test_c_stuck(self):
        await asyncio.sleep(0)
        while True:
            try:
                time.sleep(10)
            except BaseException:  # swallows even the watchdog's TestTimeoutError
                pass
