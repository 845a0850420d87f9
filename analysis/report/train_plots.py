"""`actgrad train`'s figures, drawn by `analysis.plot` (`test_loss` and `grad_norm`)."""

from __future__ import annotations

from typing import Any

__all__ = ["plot_grad_norm", "plot_test_loss"]


def plot_test_loss(variants: list[dict], out: Any, config: dict) -> None:
    """OUT/train.png|svg: held-out loss per variant (`plot.test_loss`), config beside it.

    Args:
        variants: [{"label", "config", **train.train result}]; out: the folder;
        config: written beside the figure.
    """
    from analysis import plot
    from analysis._util.io import save_figure

    save_figure(plot.test_loss(variants).figure, out, "train", config)


def plot_grad_norm(variants: list[dict], out: Any, config: dict) -> None:
    """OUT/grad_norm.png|svg: global gradient norm per step per variant (`plot.grad_norm`).

    Args:
        variants: as `plot_test_loss`; out: the folder; config: written beside the figure.
    """
    from analysis import plot
    from analysis._util.io import save_figure

    save_figure(plot.grad_norm(variants).figure, out, "grad_norm", config)
