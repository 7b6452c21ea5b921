"""`python -m dilate_core`: see dilate_core.cli."""

import os
import sys

from dilate_core.cli import main

code = main()
if code == 130:
    # Interrupted, with every finished run in the store. Python 3.11's exit would join the process
    # pool's manager thread, which can hang once the pool's workers were terminated (CPython
    # gh-132969, fixed in later versions): leave without the exit handlers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
