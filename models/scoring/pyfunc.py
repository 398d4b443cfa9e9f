"""MLflow "models from code" entry point (executed by MLflow, never imported by flrisk).

MLflow runs this file when it loads the registered model as a pyfunc (``mlflow.pyfunc.
load_model`` or ``mlflow.pyfunc.spark_udf``). Defining the model in code means MLflow stores
this source file instead of a cloudpickle of an object: no pickle anywhere. ``set_model`` at
the bottom is MLflow's required convention for such files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class FlriskPyfunc(PythonModel):  # type: ignore[misc]  # mlflow is untyped
    """Scores contract-shaped entry lines with the verified flrisk bundle."""

    def load_context(self, context: Any) -> None:
        """Load and verify the bundle shipped as the ``bundle`` artifact."""
        from models.scoring.bundle import load_bundle
        from models.scoring.scorer import Scorer

        self._scorer = Scorer(load_bundle(Path(context.artifacts["bundle"])))

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Risk score and band per line; with ``params={"reasons": k}``, their reasons too.

        Args:
            context: MLflow's context (unused; the bundle is loaded in ``load_context``).
            model_input: Contract-shaped lines, cells as text.
            params: ``reasons`` (up to k reasons per direction and line, default 0) and
                ``explain_share`` (share of lines, riskiest first, that get them; default 1).

        Returns:
            ``entry_id, line_no, risk_score, risk_band, reasons`` (each line's JSON, as
            ``flrisk score`` writes it; ``[]`` for a line not explained, and for every line
            when k is 0: the column is always there, as the signature declares it, so that
            ``spark_udf`` can build its result).
        """
        from models.contract.validate import validate_lines

        k = int((params or {}).get("reasons", 0) or 0)
        share = float((params or {}).get("explain_share", 1.0))
        passthrough = dict(self._scorer.bundle.state.passthrough)
        # The reader turns cells into text itself (a whole-number float column back to "2").
        lines = validate_lines(model_input, passthrough=passthrough).lines
        out = self._scorer.score(lines, reasons=k, explain_share=share, as_json=True).to_frame()
        columns = ["entry_id", "line_no", "risk_score", "risk_band"]
        return out[[*columns, "reasons"]]


mlflow.models.set_model(FlriskPyfunc())
