"""Plain TestCase: every outcome unittest knows."""

import unittest


class TestPlain(unittest.TestCase):
    def test_pass(self) -> None:
        self.assertEqual(1 + 1, 2)

    def test_fail(self) -> None:
        self.assertEqual(1, 2)

    def test_error(self) -> None:
        raise KeyError("boom")

    def test_documented(self) -> None:
        """First line of the docstring shows in -v output."""

    @unittest.skip("decorated skip")
    def test_skip_decorator(self) -> None:
        raise AssertionError("never runs")

    def test_skip_test(self) -> None:
        self.skipTest("skipped inside")

    @unittest.expectedFailure
    def test_expected_failure(self) -> None:
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_unexpected_success(self) -> None:
        pass

    def test_subtests(self) -> None:
        for i in range(4):
            with self.subTest(i=i):
                if i == 1:
                    self.assertEqual(i, 0)
                if i == 2:
                    raise ValueError(i)
                if i == 3:
                    self.skipTest("skipped subtest")


class TestSetUpAndCleanups(unittest.TestCase):
    def setUp(self) -> None:
        if self._testMethodName == "test_setup_fails":
            raise RuntimeError("setUp failed")

    def test_setup_fails(self) -> None:
        pass

    def test_cleanup_fails(self) -> None:
        self.addCleanup(self._bad_cleanup)

    def test_teardown_ok(self) -> None:
        self.addCleanup(lambda: None)

    def _bad_cleanup(self) -> None:
        raise OSError("cleanup failed")


@unittest.skipUnless(False, "whole class skipped")
class TestSkippedClass(unittest.TestCase):
    def test_a(self) -> None:
        pass

    def test_b(self) -> None:
        pass
