"""System tests of the orders service, run one after another by plain unittest.

The same five tests as test_orders_aiounit.py, written for
``unittest.IsolatedAsyncioTestCase``: each waits about one second for the
service, and unittest runs them one at a time.  Each test also logs in on its
own (0.5 s): a test's connection lives on that test's own event loop, and the
stdlib has no async class fixture to share one.  The file takes about 7.5 s.

    python -m unittest -v test_orders_stdlib        # from examples/
"""

import asyncio
import unittest
import uuid

from orders_service import OrdersClient, ServiceProcess

POLL_INTERVAL = 0.05  # seconds between two status requests

service = ServiceProcess(delay=1.0)


def setUpModule():
    # One service for the whole module.
    service.start()


def tearDownModule():
    service.stop()


class TestOrders(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.client = await OrdersClient.connect(*service.address)
        self.addAsyncCleanup(self.client.close)
        await self.client.login("demo", "secret")

    def new_order_id(self):
        return f"{self._testMethodName}-{uuid.uuid4().hex[:12]}"

    async def wait_until_settled(self, order_id):
        async with asyncio.timeout(5):  # unittest has no per-test time limit
            while True:
                order = await self.client.status(order_id)
                if order["status"] != "pending":
                    return order
                await asyncio.sleep(POLL_INTERVAL)

    async def test_order_is_fulfilled(self):
        order_id = self.new_order_id()
        await self.client.submit(order_id, "book")
        order = await self.wait_until_settled(order_id)
        self.assertEqual(order["status"], "done")

    async def test_total_is_price_times_quantity(self):
        order_id = self.new_order_id()
        await self.client.submit(order_id, "mug", quantity=3)
        order = await self.wait_until_settled(order_id)
        self.assertEqual((order["status"], order["total"]), ("done", 23.70))

    async def test_order_is_pending_until_settled(self):
        order_id = self.new_order_id()
        submitted = await self.client.submit(order_id, "pen", quantity=10)
        self.assertEqual(submitted["status"], "pending")
        self.assertEqual((await self.client.status(order_id))["status"], "pending")
        order = await self.wait_until_settled(order_id)
        self.assertEqual(order["status"], "done")

    async def test_unknown_item_is_rejected(self):
        order_id = self.new_order_id()
        await self.client.submit(order_id, "unicorn")
        order = await self.wait_until_settled(order_id)
        self.assertEqual(order["status"], "rejected")
        self.assertIn("out of stock", order["reason"])

    async def test_orders_of_one_customer_are_independent(self):
        lamp, pens = self.new_order_id(), self.new_order_id()
        await self.client.submit(lamp, "lamp")
        await self.client.submit(pens, "pen", quantity=2)
        lamp_order = await self.wait_until_settled(lamp)
        pens_order = await self.wait_until_settled(pens)
        self.assertEqual((lamp_order["status"], lamp_order["total"]), ("done", 30.00))
        self.assertEqual((pens_order["status"], pens_order["total"]), ("done", 2.40))


if __name__ == "__main__":
    unittest.main()
