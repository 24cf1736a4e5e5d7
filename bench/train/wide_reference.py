"""Peers of bench/train/wide.ts on the same synthetic distribution (numpy draws its own numbers):
xgboost `hist` and scikit-learn's lbfgs LogisticRegression on one thread, and pandas' peak memory
reading the bench's CSV. Prints one JSON document. Run by the bench through /usr/bin/python3 when
xgboost, sklearn and pandas import (Debian: python3-xgboost python3-sklearn python3-pandas).

    wide_reference.py gbdt ROWS FEATURES ITERATIONS
    wide_reference.py logistic ROWS FEATURES L2 [ROWS.f64]
    wide_reference.py pandas CSV
"""
import json
import resource
import sys
import time

import numpy as np

WEIGHTS = [0.8, -0.6, 0.5, -0.4, 0.3, -0.3, 0.2, -0.2, 0.1, -0.1]


def wide_data(n, f, seed=15):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f))
    z = 0.5 * x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2]) + x[:, : len(WEIGHTS)] @ np.array(WEIGHTS[:f])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(np.float64)
    return x, y


def cpu():
    return time.process_time()


def gbdt(n, f, iterations):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    x, y = wide_data(n, f)
    xt, yt = wide_data(20_000, f, seed=16)
    best = None
    for _ in range(2):
        start, start_cpu = time.perf_counter(), cpu()
        d = xgb.DMatrix(x, label=y, nthread=1)
        booster = xgb.train(
            {"tree_method": "hist", "max_depth": 6, "max_bin": 256, "eta": 0.1, "min_child_weight": 1,
             "lambda": 1, "objective": "binary:logistic", "nthread": 1},
            d, num_boost_round=iterations)
        took = (time.perf_counter() - start, cpu() - start_cpu)
        best = took if best is None or took[1] < best[1] else best
    auc = roc_auc_score(yt, booster.predict(xgb.DMatrix(xt, nthread=1)))
    return {"xgboost": {"seconds": best[0], "cpu_seconds": best[1], "auc": auc, "version": xgb.__version__}}


def logistic(n, f, l2, path=None):
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if path:  # the bench's own rows: f columns of n float64, then the labels
        data = np.fromfile(path, dtype=np.float64).reshape(f + 1, n)
        x, y = np.ascontiguousarray(data[:f].T), data[f]
    else:
        x, y = wide_data(n, f)
    best = None
    scaled = None
    for _ in range(3):
        # Keel standardises inside its trainer, so the scaler's fit is timed too (and reported apart).
        start_cpu = cpu()
        z = StandardScaler().fit_transform(x)
        scaler = cpu() - start_cpu
        start, start_cpu = time.perf_counter(), cpu()
        lr = LogisticRegression(C=1 / l2, solver="lbfgs", max_iter=1000).fit(z, y)
        took = (time.perf_counter() - start, cpu() - start_cpu)
        best = took if best is None or took[1] < best[1] else best
        scaled = took[1] + scaler if scaled is None else min(scaled, took[1] + scaler)
    p = lr.predict_proba(z)[:, 1]
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    penalty = float(l2 / 2 * np.sum(lr.coef_ ** 2) / n)
    return {"sklearn_lbfgs": {"seconds": best[0], "cpu_seconds": best[1], "with_scaler_cpu_seconds": scaled,
                              "iterations": int(lr.n_iter_[0]),
                              "log_loss": loss, "objective": loss + penalty, "version": sklearn.__version__}}


def pandas_load(path):
    import pandas as pd

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    frame = pd.read_csv(path)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"pandas": {"seconds": took, "peak_mib": peak / 1024, "before_mib": before / 1024,
                       "rows": len(frame), "version": pd.__version__}}


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "gbdt":
        out = gbdt(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    elif kind == "logistic":
        out = logistic(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        out = pandas_load(sys.argv[2])
    print(json.dumps(out))
