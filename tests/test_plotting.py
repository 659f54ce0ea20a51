"""The shared plot helpers: the provenance footer stays inside the figure."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from companion.plotting import footer  # noqa: E402


def _footer_extent(text: str):
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.set_xlabel("step")
    footer(fig, text)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.texts[-1].get_window_extent(renderer)
    width = fig.get_figwidth() * fig.dpi
    bottom = fig.subplotpars.bottom
    plt.close(fig)
    return box, width, bottom


def test_a_long_provenance_line_wraps_inside_the_figure_and_raises_the_axes():
    short = "Fig. 3 · profile paper · CPU · commit 878d56c056e8 · code e4cf953d3f90"
    many = ("Sagun Fig. 3 · profile paper · CPU x86_64 (2 threads), NVIDIA H200 · commit "
            "878d56c056e8, 8abb443fdede, d8bd8d83b1b6+dirty · code e4cf953d3f90, b0f7849d71a4")
    box, width, bottom_one = _footer_extent(short)
    assert box.x1 <= width
    box, width, bottom_many = _footer_extent(many)
    assert box.x1 <= width                       # the long line no longer runs off the edge
    assert bottom_many > bottom_one              # and the axes make room for its lines
