"""A helper module with doctests; test_load_tests.py loads them.

>>> 2 + 2
4
"""


def add(a, b):
    """Add two numbers.

    >>> add(1, 2)
    3
    """
    return a + b


def broken():
    """A doctest that fails.

    >>> broken()
    'right'
    """
    return "wrong"
