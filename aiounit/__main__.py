"""``python -m aiounit``: ``python -m unittest``, with concurrent groups."""

import os
import sys

__unittest = True

if sys.argv[0].endswith("__main__.py"):
    # As unittest does: make the help text show how it was started.
    sys.argv[0] = os.path.basename(sys.executable) + " -m aiounit"

from ._main import main  # noqa: E402

main(module=None)
