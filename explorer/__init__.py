"""DILATE Explorer's app-side modules: charts, training jobs and page state (no math here)."""
