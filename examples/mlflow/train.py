"""An unchanged MLflow client logging to Keel.

Run `keel serve` (it speaks MLflow's REST API on port 5000), then:

    pip install mlflow
    MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python examples/mlflow/train.py

The script uses only MLflow's own API: an experiment, a run with params, a metric per step, a tag
and an artifact. `keel runs list --experiment mlflow-client` then shows the run, as the MLflow UI
would against an MLflow server.
"""

import json
import math
import os
import tempfile

import mlflow


def main() -> None:
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        raise SystemExit("set MLFLOW_TRACKING_URI to the keel serve URL, e.g. http://127.0.0.1:5000")
    mlflow.set_experiment("mlflow-client")
    with mlflow.start_run(run_name="from-python") as run:
        mlflow.log_params({"learning_rate": 0.1, "depth": 6, "model": "gbdt"})
        for step in range(50):
            mlflow.log_metric("loss", 1 / (step + 1) + 0.01 * math.sin(step), step=step)
        mlflow.log_metric("roc_auc", 0.87)
        mlflow.set_tag("team", "growth")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "summary.json")
            with open(path, "w") as f:
                json.dump({"trees": 200, "features": 6}, f)
            mlflow.log_artifact(path)
        print(f"logged run {run.info.run_id} to {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    main()
