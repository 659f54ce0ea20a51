"""The Hessian-along-SGD companion: data, models, Hessian operators, training with
curvature tracking, cached results and a figure registry for the book's chapters."""

__version__ = "0.1.0"
