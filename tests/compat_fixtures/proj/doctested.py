"""A helper module with doctests; test_load_tests.py loads them.

>>> 2 + 2
4
"""


def add(a: int, b: int) -> int:
    """Add two numbers.

    >>> add(1, 2)
    3
    """
    return a + b


def broken() -> str:
    """A doctest that fails.

    >>> broken()
    'right'
    """
    return "wrong"
