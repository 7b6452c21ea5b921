"""dilate_lab: the DILATE paper's experiments on top of the loss library `dilate_core`.

The paper's data sets (`data`, `sources`), its models (`model`), side-by-side training of one
model per loss (`train`, `config`, `settings`), its numbers and scales (`paper`), grids of seeded
runs (`sweep`), the playground's maths (`playground`) and the command line
(`python -m dilate_lab train|reproduce|sweep`). It lives in the DILATE Explorer checkout, not in
the dilate-core wheel, and imports `dilate_core`, never the reverse.
"""
