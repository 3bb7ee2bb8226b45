import unittest


class TestInner(unittest.TestCase):
    def test_inner_pass(self):
        pass

    def test_inner_fail(self):
        self.assertTrue(False)
