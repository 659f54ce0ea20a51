"""The paper's Tables 1–7 (Jastrzębski et al. 2019, §4 and App. C, F), transcribed exactly
(spec §2), with their captions, and the HTML table that puts this execution's numbers
beside them.

Columns: ‖H‖_F at the best-validation point / at the end, test accuracy (%), validation
accuracy (%) at epoch 50 (Table 7: epoch 10), final training loss, distance from the
initialization. Baseline rows are named by their role (SGD(η/2) is the paper's SGD(0.005)
in Tables 1–2) so that a shrunk profile's baselines line up with them. Table 7's "‖H‖_F"
column holds λ_max (the authors printed it with ``sharpness="SN"``).
"""

from __future__ import annotations

import html
import math
import statistics

COLUMNS = ("‖H‖_F best", "‖H‖_F final", "test acc. (%)", "val. acc. (%)", "loss", "dist.")
_GAMMA = ("γ=0.01", "γ=0.1", "γ=1", "γ=5")


def _rows(names, *rows) -> dict:
    return dict(zip(names, rows))


PAPER_TABLES = {
    1: _rows(_GAMMA + ("SGD(η/2)", "SGD(10η)"),
             (1018, 1019, 87.3, 69.3, 0.01324, 21.08), (931, 929, 87.2, 69.0, 0.00940, 21.32),
             (272, 324, 86.6, 63.0, 0.01719, 22.90), (111, 83, 85.5, 52.3, 1.17170, 25.32),
             (678, 946, 86.0, 49.9, 0.06221, 18.87), (24, 25, 88.0, 84.7, 0.00100, 50.73)),
    2: _rows(_GAMMA + ("SGD(η/2)", "SGD(5η)"),
             (423, 429, 87.1, 83.5, 0.00143, 17.63), (294, 268, 87.4, 83.3, 0.00126, 17.98),
             (127, 127, 86.6, 82.3, 0.00063, 19.76), (130, 129, 85.2, 79.8, 0.00160, 20.26),
             (476, 516, 85.8, 78.0, 0.00862, 14.94), (34, 26, 87.4, 85.1, 0.00008, 35.38)),
    3: _rows(_GAMMA[:3], (32, 34, 89.3, 85.8, 0.00322, 49.04),
             (20, 26, 89.2, 85.9, 0.00105, 50.73), (25, 19, 87.9, 83.2, 0.00246, 50.70)),
    4: _rows(_GAMMA, (20, 20, 89.4, 86.9, 0.00225, 47.57), (36, 32, 89.3, 87.1, 0.00082, 47.14),
             (27, 34, 89.2, 85.8, 0.00239, 49.57), (35, 44, 88.2, 83.9, 0.00438, 51.07)),
    5: _rows(_GAMMA, (294, 431, 92.6, 90.3, 0.05300, 13.73), (257, 341, 92.4, 90.1, 0.04340, 13.62),
             (159, 162, 92.5, 89.8, 0.04672, 14.85), (75, 101, 91.7, 89.2, 0.07820, 14.65)),
    6: _rows(_GAMMA, (1315, 1544, 56.9, 27.8, 0.18048, 31.37),
             (797, 1192, 57.4, 27.0, 0.29081, 31.18), (470, 720, 54.1, 25.6, 0.28299, 32.67),
             (240, 378, 53.2, 20.6, 0.51348, 34.20)),
    7: _rows(("γ=0.1", "γ=1", "γ=5"), (5.91, 1.94, 88.83, 86.79, 0.00031, 13.24),
             (4.19, 1.45, 88.79, 84.52, 0.00029, 14.04), (2.36, 0.79, 88.37, 78.32, 0.00023, 16.85)),
}

_SAME = "Same as Tab. 1, but for "
TABLE_CAPTIONS = {
    1: ("Nudged-SGD optimizes faster and finds a sharper final endpoint with a slightly better "
        "generalization performance. Experiments on Resnet-32 model on the Cifar-10 dataset. "
        "Columns: the Frobenius norm of the Hessian at the best validation point and the final "
        "epoch; test accuracy; validation at epoch 50; cross-entropy loss in the final epoch; "
        "distance of the parameters from the initialization to the best validation epoch "
        "parameters. Experiments were performed with η = 0.01 and S = 128. In the last rows we "
        "report SGD using η ∈ {0.005, 0.1}."),
    2: _SAME + "Simple-CNN model. NSGD with γ = 5.0 diverged and was excluded from the Table. "
               "(The γ = 5 row is present: the caption was probably copied from Table 3.)",
    3: _SAME + "Resnet-32 and NSGD using base learning rate η = 0.1. NSGD with γ = 5.0 "
               "diverged and was excluded from the Table.",
    4: _SAME + "Resnet-32 and NSGD using momentum coefficient 0.9.",
    5: _SAME + "Simple-CNN and NSGD on the Fashion-MNIST dataset. (App. C's text swaps the "
               "numbers of Tables 5 and 6.)",
    6: _SAME + "Resnet-32 and NSGD on the CIFAR-100 dataset.",
    7: _SAME + "CNN on IMDB dataset. (Its ‖H‖_F column is λ_max: the authors' script printed "
               "the spectral norm; its validation column is at epoch 10.)",
}


def ours(row: dict, number: int) -> tuple:
    """This execution's numbers in the paper's column order."""
    key = "lam" if number == 7 else "F"
    return (row[f"{key}_best"], row[f"{key}_final"], row["test_acc"], row["val_early"],
            row["loss"], row["distance"])


def _cell(value: float, column: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if column == 4:
        return f"{value:.5f}"
    return f"{value:,.1f}" if column in (2, 3) or abs(value) < 100 else f"{value:,.0f}"


def comparison_html(number: int, rows: dict, epoch: float) -> str:
    """Paper and this run, row by row; rows of this run the paper has no twin for (and the
    reverse) appear with dashes."""
    paper = PAPER_TABLES[number]
    names = list(paper) + [n for n in rows if n not in paper]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for name in names:
        for source, values in (("paper", paper.get(name)),
                               ("this run", ours(rows[name], number) if name in rows else None)):
            cells = "".join(f"<td>{_cell(v, i)}</td>" for i, v in enumerate(values)) \
                if values else "<td colspan='6'>no run</td>" if source == "this run" \
                else "<td colspan='6'>not in the paper</td>"
            extra = ""
            if source == "this run" and name in rows:
                r = rows[name]
                extra = (f" (η = {r['lr']:g}{', diverged' if r['diverged'] else ''}"
                         f"{', best val. at initialization' if r.get('best_at_start') else ''}"
                         f"{', ' + str(r['seeds']) + ' seeds' if r['seeds'] > 1 else ''})")
            body.append(f"<tr class='{source.replace(' ', '-')}'><td>{html.escape(name)}</td>"
                        f"<td>{source}{html.escape(extra)}</td>{cells}</tr>")
    val = "val. acc. at epoch 50 (Table 7: 10)" if epoch is None else f"this run's val. acc. at epoch {epoch:g}"
    return (f"<table class='table paper-vs-ours'><thead><tr><th>row</th><th>source</th>{head}"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<p class='table-note'>Paper: val. acc. at epoch {10 if number == 7 else 50}; "
            f"{html.escape(val)}. ‖H‖_F of this run: √Σλ_i² over its tracked top "
            "eigenvalues (the paper's formula, with fewer eigenvalues at the default profile)"
            f"{'; λ_max for Table 7' if number == 7 else ''}.</p>")


def table_html(outcomes: dict, number: int) -> str:
    """The paper's Table ``number`` beside this execution's rows (or the paper's alone)."""
    from .. import nsgd_analysis as A

    outcome = outcomes.get(f"table-{number}")
    runs = outcome.runs if outcome is not None else {}
    epoch = A.early_epoch(runs, 10 if number == 7 else 50) if runs else None
    return comparison_html(number, A.table_rows(runs, epoch) if runs else {}, epoch)


def refresh_costs(outcomes: dict) -> str:
    """Per steered run: refreshes, mean Lanczos products (first, cold, and later, warm),
    mean seconds, the lowest overlap with the previous subspace and the median over the
    later half of the refreshes, and the largest γηλ_i of the nudged directions."""
    seen, rows = set(), []
    for outcome in outcomes.values():
        for label, (config, result) in outcome.runs.items():
            key = result["provenance"]["key"]
            refreshes = result.get("refreshes") or []
            if key in seen or config.optimizer != "nudged" or len(refreshes) < 2:
                continue
            seen.add(key)
            warm = refreshes[1:]
            overlaps = [r["overlap"] for r in warm if r["overlap"] is not None]
            late = overlaps[len(overlaps) // 2:]
            nudge = max(max(r["nudged_steps"]) for r in refreshes)
            rows.append((f"{outcome.figure.id}: {label}", len(refreshes),
                         refreshes[0]["lanczos_matvecs"],
                         sum(r["lanczos_matvecs"] for r in warm) / len(warm),
                         sum(r["seconds"] for r in refreshes) / len(refreshes),
                         min(overlaps) if overlaps else math.nan,
                         statistics.median(late) if late else math.nan, nudge))
    if not rows:
        return "<p><em>No steered run in this execution.</em></p>"
    body = "".join(
        f"<tr><td>{html.escape(r[0])}</td><td>{r[1]}</td><td>{r[2]}</td><td>{r[3]:.1f}</td>"
        f"<td>{r[4]:.2f}</td><td>{r[5]:.3f}</td><td>{r[6]:.3f}</td><td>{r[7]:.3g}</td></tr>"
        for r in rows)
    return ("<table class='table refresh-costs'><thead><tr><th>run</th><th>refreshes</th>"
            "<th>products, first (cold)</th><th>products, later (warm, mean)</th>"
            "<th>seconds per refresh</th><th>lowest overlap with the previous subspace</th>"
            "<th>median overlap, second half</th>"
            "<th>max γηλ_i, nudged directions</th></tr></thead><tbody>" + body +
            "</tbody></table>")
