"""The benchmark's adapter to the real PyHessian: same model and data, products counted."""

import torch

from companion.bench_eigen import _lanczos_counted, _pyhessian
from companion.bench_system import throughput
from companion.hessian import HessianOperator
from companion.models import cross_entropy

from conftest import needs_cifar


def test_pyhessian_adapter_matches_the_dense_top_eigenvalue_and_counts_products():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    x, y = torch.randn(40, 6), torch.randint(0, 3, (40,))
    op = HessianOperator(model, cross_entropy, [(x, y)])
    dense = torch.stack([op @ e for e in torch.eye(op.dim)], dim=1)
    top = torch.linalg.eigvalsh((dense + dense.T) / 2).max().item()
    values, products = _pyhessian(model, (x, y), 1, torch.device("cpu"))
    assert abs(values[0] - top) / abs(top) < 1e-2 and 2 <= products <= 100
    assert model.training and all(p.grad is None for p in model.parameters())
    ours, count = _lanczos_counted(op, 1)
    assert abs(ours[0] - top) / abs(top) < 1e-5 and count > 0


@needs_cifar
def test_throughput_compares_the_companion_loader_with_a_dataloader():
    row = throughput(torch.device("cpu"), "simplecnn", n_images=64, batch_size=32)
    assert min(row[f"{k}_images_per_s"] for k in ("companion", "eager", "dataloader")) > 0


@needs_cifar
def test_warm_started_lanczos_needs_fewer_products_for_the_same_eigenvalues():
    from companion.bench import warm_vs_cold

    out = warm_vs_cold(torch.device("cpu"), points=2, every=2, k=3, tol=1e-3)
    (point,) = out["points"]
    assert point["warm_products"] < point["cold_products"]
    assert point["max_rel_diff"] < 1e-2


@needs_cifar
def test_nsgd_overhead_trains_both_side_by_side():
    from companion.bench_nsgd import nsgd_overhead

    out = nsgd_overhead(torch.device("cpu"), n_train=256, epochs=4, examples=32, reference=64)
    assert out["sgd_s_per_epoch"] > 0 and out["ratio"] > 0.5 and out["steady_ratio"] > 1
    assert out["cold_products"] >= 5 and len(out["overlaps"]) == 3   # refreshes at epochs 2-4
    assert 0 <= out["min_overlap"] <= out["steady_overlap"] <= 1 + 1e-4
    # a tight solve on the same images spans nearly the same top-5 as the refresh's tolerance
    assert 0.5 < out["tol_vs_tight"] <= 1 + 1e-4 and 0 <= out["sample_vs_reference"] <= 1 + 1e-4


def test_bottom_eigensolvers_compare_three_solvers_on_one_operator():
    from companion.bench_bottom import bottom_eigensolvers

    out = bottom_eigensolvers(torch.device("cpu"), steps=60, n_train=512, n_hessian=128,
                              tol=1e-3, max_products=300)
    rows = out["solvers"]
    assert len(rows) == 3 and all(r["products"] > 0 for r in rows.values())
    assert out["bottom"][0] < 0 < out["lambda_1"]
    assert rows["companion Lanczos SA(3)"]["max_rel_error"] < 1e-2
    assert rows["scipy eigsh(which='SA') SA(3)"]["max_rel_error"] < 1e-2
    assert out["la20"]["products"] >= 20


def test_dense_builds_agree_three_ways_and_lanczos_counts_like_dense(tmp_path, monkeypatch):
    import tempfile

    from companion.bench_dense import dense_builds

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = dense_builds(torch.device("cpu"), k=3, n=60, steps=200, block=16, top=30)
    assert list(tmp_path.glob("bench-dense-*")) == []   # its training cache is gone (one a
    # call was left before; torch's own cache folder may appear there too)
    rows = out["builds"]
    assert out["dim"] == 3960 + 31 * 3 and out["asymmetry"] < 1e-10
    assert all(r["max_abs_diff"] < 1e-10 for r in rows.values() if r["seconds"] is not None)
    assert rows["torch.func.hessian"]["seconds"] is not None   # small enough to fit
    assert out["max_rel_diff_top"] < 1e-4
    assert out["counts_dense"]["gap"] == out["counts_lanczos"]["gap"]


def test_walk_bench_times_a_segment_both_ways_with_the_same_losses():
    from companion.bench_walk import walk_costs

    (row,) = walk_costs(torch.device("cpu"), repeats=1, networks=(("mlp_bn", 0.25, 1, 28, 300),))
    assert row["step_s"] > 0 and row["vmap_s"] > 0 and row["loop_s"] > 0
    assert row["max_abs_diff"] < 1e-4 and row["default"] == "loop"
