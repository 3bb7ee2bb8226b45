import unittest


class TestDeep(unittest.IsolatedAsyncioTestCase):
    async def test_deep(self) -> None:
        pass
