"""The gradient-flow classification lives in `analysis.flow.classify` (decay uses it too)."""

from analysis.flow.classify import CLASSES, THRESHOLDS_TEXT, classify, describe, per_100_steps

__all__ = ["CLASSES", "THRESHOLDS_TEXT", "classify", "describe", "per_100_steps"]
