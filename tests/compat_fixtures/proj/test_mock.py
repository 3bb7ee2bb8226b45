"""unittest.mock in sync and async tests."""

import os
import unittest
from unittest import mock


class Service:
    def fetch(self) -> str:
        return "real"

    async def fetch_async(self) -> str:
        return "real"


@mock.patch("os.getcwd", return_value="/patched")
class TestPatchedClass(unittest.TestCase):
    def test_patched_by_class(self, getcwd: mock.MagicMock) -> None:
        self.assertEqual(os.getcwd(), "/patched")
        getcwd.assert_called_once_with()

    def test_mock_assertion_fails(self, getcwd: mock.MagicMock) -> None:
        getcwd.assert_called_once_with()


class TestMock(unittest.TestCase):
    @mock.patch.object(Service, "fetch", return_value="fake")
    def test_patch_object(self, fetch: mock.MagicMock) -> None:
        self.assertEqual(Service().fetch(), "fake")

    def test_patch_context_manager(self) -> None:
        with mock.patch.dict(os.environ, {"COMPAT_FIXTURE": "1"}):
            self.assertEqual(os.environ["COMPAT_FIXTURE"], "1")
        self.assertNotIn("COMPAT_FIXTURE", os.environ)


class TestAsyncMock(unittest.IsolatedAsyncioTestCase):
    async def test_async_mock(self) -> None:
        with mock.patch.object(Service, "fetch_async", new=mock.AsyncMock(return_value="fake")):
            self.assertEqual(await Service().fetch_async(), "fake")

    async def test_async_mock_await_count(self) -> None:
        m = mock.AsyncMock()
        await m(1)
        m.assert_awaited_once_with(2)
