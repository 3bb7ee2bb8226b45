"""A package that opts into aiounit for stock unittest and IDEs."""

from aiounit import load_tests  # noqa: F401
