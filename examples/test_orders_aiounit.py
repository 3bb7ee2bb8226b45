"""System tests of the orders service, run concurrently by aiounit.

Each test submits an order and polls its status until the service settles it,
about one second later.
The five tests are one ``@aiounit.group``, so they wait for the service at the
same time, and they share one logged-in client: the class logs in once, in
``asyncSetUpClass``, on the event loop its tests then run on (a login takes
0.5 s).  The file takes about 1.5 s instead of about 7.5 s.

    python -m aiounit -v test_orders_aiounit        # from examples/

Compare with test_orders_stdlib.py, the same tests for plain unittest.
"""

import asyncio
import uuid

from orders_service import OrdersClient, ServiceProcess

import aiounit

POLL_INTERVAL = 0.05  # seconds between two status requests

service = ServiceProcess(delay=1.0)


def setUpModule():
    # One service for the whole module, shared by the tests that run together.
    service.start()


def tearDownModule():
    service.stop()


@aiounit.group("orders", timeout=5)  # every test of the class; 5 s each at most
class TestOrders(aiounit.AsyncTestCase):
    @classmethod
    async def asyncSetUpClass(cls):
        # Once for the class, before its first test: one connection, one login,
        # shared by the tests of the group (the client lets them take turns).
        cls.client = await OrdersClient.connect(*service.address)
        cls.addAsyncClassCleanup(cls.client.close)  # after the class's last test
        await cls.client.login("demo", "secret")

    def new_order_id(self):
        # The service is shared with the other tests of the group, which run at
        # the same time: a test only ever looks at orders whose id it made up.
        return f"{self._testMethodName}-{uuid.uuid4().hex[:12]}"

    async def wait_until_settled(self, order_id):
        # No timeout of our own: aiounit ends the test after 5 s (see the group).
        while True:
            order = await self.client.status(order_id)
            if order["status"] != "pending":
                return order
            await asyncio.sleep(POLL_INTERVAL)  # never time.sleep(): it would block the group

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
        # One connection answers in order, so poll the two orders one after the other.
        lamp_order = await self.wait_until_settled(lamp)
        pens_order = await self.wait_until_settled(pens)
        self.assertEqual((lamp_order["status"], lamp_order["total"]), ("done", 30.00))
        self.assertEqual((pens_order["status"], pens_order["total"]), ("done", 2.40))


if __name__ == "__main__":
    aiounit.main()
