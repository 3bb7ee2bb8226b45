import unittest


class TestInner(unittest.TestCase):
    def test_inner_pass(self) -> None:
        pass

    def test_inner_fail(self) -> None:
        self.assertTrue(False)
