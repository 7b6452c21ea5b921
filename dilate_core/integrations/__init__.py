"""DILATE in forecasting frameworks: one small module per framework, each imported on its own.

- `dilate_core.integrations.darts`: `DILATELoss`, for darts' `loss_fn=` (sample weights too).
- `dilate_core.integrations.pytorch_forecasting`: `DILATE`, a `MultiHorizonMetric` that scores each
  series on its own decoder length.
- `dilate_core.integrations.neuralforecast`: `DILATE`, a point loss that honours the models' mask.

Importing this package imports no framework; each module imports only its own.
"""
