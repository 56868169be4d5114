"""Baselines: the methods a user would pick instead of a recurrent network, on the same data.

- :mod:`~rnnlab.evaluation.baselines.text_classifiers`: character n-gram TF-IDF with logistic
  regression and with multinomial naive Bayes (scikit-learn), and the majority class.
- :mod:`~rnnlab.evaluation.baselines.kneser_ney`: an interpolated Kneser-Ney character n-gram
  language model.
- :mod:`~rnnlab.evaluation.baselines.forecasting`: naive, seasonal-naive and least-squares
  autoregressive forecasts, rolling-origin backtests and their metrics (MAE, RMSE, MASE,
  interval coverage).
- :mod:`~rnnlab.evaluation.baselines.hrf_ridge`: fMRI response models, features convolved with
  SPM's canonical HRF (and its derivatives) or lagged, then ridge per voxel (nilearn, sklearn).
"""

from rnnlab.evaluation.baselines.kneser_ney import KneserNey, best_kneser_ney
from rnnlab.evaluation.baselines.text_classifiers import evaluate_baselines

__all__ = ["KneserNey", "best_kneser_ney", "evaluate_baselines"]
