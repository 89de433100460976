"""Figures of a 3D electrode mesostructure for the run report (Plotly)."""

from __future__ import annotations

import numpy as np

#: pore green, AM red, CBD blue (the colours of Duquesnoy et al. 2020, Fig. 3)
_COLOURS = {0: "#4caf50", 1: "#d32f2f", 2: "#1565c0"}
_NAMES = {0: "pore", 1: "active material", 2: "CBD"}


def plot_structure(structure, *, max_voxels: int = 160):
    """Three orthogonal mid-slices of a labelled electrode, coloured by phase.

    Parameters
    ----------
    structure : Mesostructure or ndarray
        Labels 0 pore, 1 AM, 2 CBD; axis 0 through the thickness (CC at 0).
    max_voxels : int
        Slices larger than this are subsampled for a light HTML report.

    Returns
    -------
    plotly.graph_objects.Figure
        Axes in µm; the through-plane slices show the CC at the bottom.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    labels = np.asarray(getattr(structure, "labels", structure))
    h = float(getattr(structure, "voxel_size", float("nan")))
    um = h * 1e6 if np.isfinite(h) else 1.0
    unit = "µm" if np.isfinite(h) else "voxels"
    n0, n1, n2 = labels.shape
    step = max(1, int(np.ceil(max(labels.shape) / max_voxels)))
    slices = [
        ("through-plane x–z (y mid)", labels[::step, n1 // 2, ::step], "x", "z (from CC)"),
        ("through-plane y–z (x mid)", labels[::step, ::step, n2 // 2], "y", "z (from CC)"),
        ("in-plane x–y (z mid)", labels[n0 // 2, ::step, ::step], "x", "y"),
    ]
    scale = [[0.0, _COLOURS[0]], [0.33, _COLOURS[0]], [0.34, _COLOURS[1]], [0.66, _COLOURS[1]],
             [0.67, _COLOURS[2]], [1.0, _COLOURS[2]]]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[s[0] for s in slices])
    for i, (_, img, xl, yl) in enumerate(slices, start=1):
        ny, nx = img.shape
        fig.add_trace(go.Heatmap(
            z=img, x=(np.arange(nx) + 0.5) * step * um, y=(np.arange(ny) + 0.5) * step * um,
            zmin=0, zmax=2, colorscale=scale, showscale=(i == 3),
            colorbar=dict(tickvals=[0.33, 1, 1.67], ticktext=[_NAMES[k] for k in range(3)]),
            hovertemplate=f"{xl} %{{x:.1f}} {unit}<br>{yl} %{{y:.1f}} {unit}<br>label %{{z}}"
                          "<extra></extra>"), row=1, col=i)
        fig.update_xaxes(title_text=f"{xl} [{unit}]", row=1, col=i)
        fig.update_yaxes(title_text=f"{yl} [{unit}]", scaleanchor=f"x{i if i > 1 else ''}",
                         row=1, col=i)
    fig.update_layout(title="3D electrode mesostructure: pore (green), AM (red), CBD (blue)",
                      height=420)
    return fig
