"""`python -m dilate_core`: see dilate_core.cli."""

import sys

from dilate_core.cli import main

sys.exit(main())
