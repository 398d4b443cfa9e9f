"""``flrisk score``'s file path scores every line as the core does on the whole file.

The path reads ahead and prepares each next chunk (signals and features) in a thread while
the current one is predicted and explained, and keeps the collector off long-lived objects
between chunks; none of it may change a score or a reason.
"""

from __future__ import annotations

import gc
import itertools
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from models.contract.reader import read_entry_lines
from models.scoring.bundle import load_bundle
from models.scoring.scorer import Scorer
from pipelines.score import _system_allocator, score_files
from pipelines.score_output import OUTPUT_COLUMNS, scores_frame, scores_table

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_bundle(FIXTURE / "bundle", num_threads=2))


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "expected.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_chunked_file_scores_equal_the_recorded_scores(
    scorer: Scorer, expected: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    """Many chunks (each prepared ahead in the read-ahead thread) against the recording.

    The files are cut at entry boundaries: ``lines_in_entry`` counts an entry's lines in
    its batch.
    """
    ids = expected["entry_id"]
    edges = [i for i in range(1, len(ids)) if ids.iloc[i] != ids.iloc[i - 1]]
    # One input file per run of whole entries, about 150 lines each.
    text = pd.read_csv(FIXTURE / "lines.csv", dtype=str, keep_default_na=False)
    cuts = [0]
    for e in edges:
        if e - cuts[-1] >= 150:
            cuts.append(e)
    cuts.append(len(text))
    files = []
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        path = tmp_path / f"part{k:03d}.csv"
        text.iloc[a:b].to_csv(path, index=False)
        files.append(path)
    assert len(files) > 5
    out = tmp_path / f"scores{suffix}"
    n = score_files(scorer, files, out, None, 3, 1.0, False, chunk_rows=1024)
    got = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype=str)
    assert n == len(got) == len(expected)
    assert got["entry_id"].tolist() == expected["entry_id"].tolist()
    assert [float(x).hex() for x in got["risk_score"]] == expected["risk_score"].tolist()
    assert got["reasons"].tolist() == expected["reasons"].tolist()
    assert gc.get_freeze_count() == 0  # the collector sees everything again afterwards


def test_the_file_path_equals_the_core_on_the_whole_file(scorer: Scorer, tmp_path: Path) -> None:
    """One chunk through the file path (prepared in the read-ahead thread) and the core's
    plain call on the same lines agree, line for line."""
    whole = scorer.score(read_entry_lines(FIXTURE / "lines.csv").lines, reasons=3, as_json=True)
    out = tmp_path / "scores.parquet"
    score_files(scorer, [FIXTURE / "lines.csv"], out, None, 3, 1.0, False, chunk_rows=100_000)
    got = pd.read_parquet(out)
    assert [float(x).hex() for x in got["risk_score"]] == [float(x).hex() for x in whole.risk_score]
    assert got["reasons"].tolist() == list(whole.reasons)
    assert got["presumption"].tolist() == list(whole.presumption)
    assert all(isinstance(json.loads(r), list) for r in got["reasons"])


def test_scores_from_a_prepared_batch_equal_the_plain_path(scorer: Scorer) -> None:
    lines = read_entry_lines(FIXTURE / "lines.csv").lines
    plain = scorer.score(lines, reasons=3, explain_share=0.2, as_json=True)
    prepared = scorer.prepare(lines)
    fast = scorer.score(lines, reasons=3, explain_share=0.2, as_json=True, prepared=prepared)
    assert fast.risk_score.tolist() == plain.risk_score.tolist()
    assert list(fast.reasons) == list(plain.reasons)
    # What was prepared for other lines is not used for these.
    other = lines.take(list(range(10)))
    wrong = scorer.score(lines, reasons=3, as_json=True, prepared=scorer.prepare(other))
    assert len(wrong) == len(lines)
    assert list(wrong.reasons) == list(scorer.score(lines, reasons=3, as_json=True).reasons)


def test_the_scores_table_is_the_one_the_frame_path_wrote(scorer: Scorer) -> None:
    """The chunk's table built from the arrays equals the one a pandas frame per chunk gave:
    values, types (texts as large_string but for the reasons) and pandas' metadata, so the
    files written stay the same byte for byte."""
    lines = read_entry_lines(FIXTURE / "lines.csv").lines
    scores = scorer.score(lines, reasons=3, explain_share=0.2, as_json=True)
    frame = scores_frame(scores)[OUTPUT_COLUMNS]
    before = pa.Table.from_pandas(frame, preserve_index=False)
    got = scores_table(scores)
    assert got.equals(before, check_metadata=True)
    assert got.schema.metadata == before.schema.metadata
    assert got.column("reasons").to_pylist() == list(scores.reasons)
    assert set(got.column("reasons").to_pylist()) > {"[]"}


def test_arrow_allocates_from_malloc_during_a_run_and_from_its_default_after() -> None:
    default = pa.default_memory_pool().backend_name
    with _system_allocator():
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == default
    with pytest.raises(RuntimeError), _system_allocator():
        raise RuntimeError("a run that fails")
    assert pa.default_memory_pool().backend_name == default
