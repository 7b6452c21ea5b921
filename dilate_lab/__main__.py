"""`python -m dilate_lab`: see dilate_lab.cli."""

import atexit
import os
import sys

from dilate_lab.cli import main

code = main()
if code == 130:
    # Interrupted, with every finished run in the store. Python 3.11's exit would join the process
    # pool's manager thread, which can hang once the pool's workers were terminated (CPython
    # gh-132969, fixed in later versions): leave without that join. The atexit handlers still run
    # (they come after it in a normal exit): among them multiprocessing's, which unlinks the pool's
    # semaphores, else reported as leaked by its resource tracker.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
