"""-f and -c while a group runs (run.py runs this; discover does not collect it).

    python -m aiounit -f -v stop_demo      # test_a fails: the group stops
    python -m aiounit -c -v stop_demo      # press Ctrl-C once "ready" shows

With STOP_DEMO=wait, test_a waits instead of failing; with STOP_DEMO=hold,
test_b's teardown also waits, so that a second Ctrl-C has something to abort.
"""

import asyncio
import os

import aiounit

MODE = os.environ.get("STOP_DEMO", "fail")
started = {"test_b_waits": asyncio.Event(), "test_c_waits": asyncio.Event()}
torn_down = {"test_a_fails_once_the_others_run": asyncio.Event(), "test_c_waits": asyncio.Event()}


@aiounit.group("stop")
class TestStop(aiounit.AsyncTestCase):
    async def asyncTearDown(self):
        print(f"teardown of {self._testMethodName}", flush=True)
        if self._testMethodName in torn_down:
            torn_down[self._testMethodName].set()
        elif MODE == "hold":
            for event in torn_down.values():  # so that the others are reported
                await event.wait()
            print("teardown of test_b_waits is waiting", flush=True)
            await asyncio.Event().wait()

    async def test_a_fails_once_the_others_run(self):
        for event in started.values():
            await event.wait()
        print("ready", flush=True)
        if MODE == "fail":
            self.fail("the first failure")
        await asyncio.Event().wait()

    async def test_b_waits(self):
        started["test_b_waits"].set()
        await asyncio.Event().wait()

    async def test_c_waits(self):
        started["test_c_waits"].set()
        await asyncio.Event().wait()


@aiounit.group("later")
class TestThen(aiounit.AsyncTestCase):
    async def test_never_starts(self):
        print("this group never starts once the run is stopped")
