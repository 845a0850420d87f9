"""The activation gallery's kernel order; the figure itself is `analysis.plot.gallery`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import kernels

__all__ = ["SEED_KERNELS", "gallery_order", "plot_gallery"]

# The seed page's five first, then the rest in registry order.
SEED_KERNELS = ("sigmoid", "tanh", "hard_tanh", "relu", "leaky_relu")


def gallery_order() -> tuple[str, ...]:
    """Kernel names with the seed page's five first."""
    seed = tuple(n for n in SEED_KERNELS if n in kernels.names())
    return seed + tuple(n for n in kernels.names() if n not in seed)


def plot_gallery(
    out_dir: str | Path, names: Sequence[str] | None = None, stem: str = "gallery"
) -> list[Path]:
    """Write STEM.png/.svg: every kernel's f, f', f'' in one grid (`analysis.plot.gallery`).

    Args:
        out_dir: the folder; names: kernels (default: `gallery_order`); stem: the file name.

    Returns:
        the written paths.
    """
    from analysis import plot
    from analysis._util.io import save_figure

    return save_figure(plot.gallery(list(names or gallery_order())), out_dir, stem)
