"""``flrisk score`` in worker processes writes what one process writes, byte for byte.

Each worker loads the model itself (spawned, never forked), reads and validates the chunks
of a Parquet input itself and scores them; the parent checks the file's keys across chunks,
quarantines, and writes in the input's order (a CSV it still reads itself). Neither the
process a chunk lands in nor the chunk boundaries may change a line's score, reasons,
quarantined rows or their reasons.
"""

from __future__ import annotations

import io
import itertools
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from models.contract.columns import BadRowsError, MissingColumnError
from models.scoring.bundle import MODEL_FILE, load_bundle
from models.scoring.scorer import Scorer
from pipelines import score as score_module
from pipelines import score_parts
from pipelines.score import score_files
from pipelines.score_parts import auto_workers
from pipelines.score_pool import WorkerError

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"
LINES = FIXTURE / "lines.csv"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_bundle(FIXTURE / "bundle", num_threads=2))


def test_workers_write_the_same_file_as_one_process(scorer: Scorer, tmp_path: Path) -> None:
    """Many small chunks over two workers: the Parquet table, the CSV text and the HS
    chapters of the chunks equal one process's, with the riskiest 5% of each chunk
    explained."""
    runs = {}
    for workers in (0, 2):
        for suffix in (".parquet", ".csv"):
            sectors: list[np.ndarray] = []
            out = tmp_path / f"w{workers}{suffix}"
            n = score_files(
                scorer, [LINES, LINES], out, None, 3, 0.05, False, chunk_rows=150,
                sectors=sectors, workers=workers,
            )  # fmt: skip
            runs[workers, suffix] = (n, out, np.concatenate(sectors))
    one, two = runs[0, ".parquet"], runs[2, ".parquet"]
    assert one[0] == two[0] == 2 * 1197
    table = pq.read_table(two[1])
    assert table.equals(pq.read_table(one[1]))
    assert (table.column("reasons").to_numpy(zero_copy_only=False) != "[]").sum() > 0
    assert runs[2, ".csv"][1].read_bytes() == runs[0, ".csv"][1].read_bytes()
    assert two[2].tolist() == one[2].tolist()
    assert not list(tmp_path.glob("*.part"))


def test_chunk_boundaries_change_no_score_or_reason(scorer: Scorer, tmp_path: Path) -> None:
    """Every line explained: the file cut into chunks of whole entries, scored by two
    workers, against the whole file as one chunk in this process.

    Cut at entries because ``lines_in_entry`` (and the parties linked within an entry)
    count an entry's lines in its chunk: the reader's chunks are cut by rows.
    """
    text = pd.read_csv(LINES, dtype=str, keep_default_na=False)
    ids = text["entry_id"]
    cuts = [0, *(i for i in range(1, len(ids)) if ids.iloc[i] != ids.iloc[i - 1])][::40]
    files = []
    for k, (a, b) in enumerate(itertools.pairwise([*cuts, len(text)])):
        files.append(tmp_path / f"part{k:03d}.csv")
        text.iloc[a:b].to_csv(files[-1], index=False)
    assert len(files) > 4
    whole, cut = tmp_path / "whole.parquet", tmp_path / "cut.parquet"
    score_files(scorer, [LINES], whole, None, 3, 1.0, False, chunk_rows=100_000, workers=0)
    score_files(scorer, files, cut, None, 3, 1.0, False, chunk_rows=100_000, workers=2)
    assert pq.read_table(cut).equals(pq.read_table(whole))


def test_a_worker_that_cannot_load_the_model_is_a_plain_error(tmp_path: Path) -> None:
    """The bundle changed on disk after the parent loaded it: the workers refuse it, the run
    stops with a message (no traceback), and no output is left under the output's name."""
    folder = tmp_path / "bundle"
    shutil.copytree(FIXTURE / "bundle", folder)
    scorer = Scorer(load_bundle(folder, num_threads=1))
    with (folder / MODEL_FILE).open("a") as fh:
        fh.write("\n")
    out = tmp_path / "scores.parquet"
    with pytest.raises(WorkerError) as err:
        score_files(scorer, [LINES], out, None, 3, 0.05, False, chunk_rows=400, workers=2)
    assert "--workers 0" in err.value.hint
    assert not out.exists()


def test_by_default_small_inputs_are_scored_in_this_process(
    scorer: Scorer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below a million lines starting the workers (about 5 s of CPU each) costs more than
    they gain, so no small input starts a pool unless asked."""

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a worker pool was started for a small input")

    monkeypatch.setattr(score_module, "scored_in_workers", no_pool)
    out = tmp_path / "scores.parquet"
    assert score_files(scorer, [LINES], out, None, 3, 0.05, False, chunk_rows=100) == 1197


def test_by_default_large_parquet_inputs_are_scored_by_two_workers(
    dirty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet inputs of ``AUTO_POOL_LINES`` rows or more get two workers on two cores or
    more; CSV rows do not count (the parent would read them and stay the bottleneck)."""
    assert auto_workers([dirty], cores=2) == 0  # 1,197 rows: below the threshold
    monkeypatch.setattr(score_parts, "AUTO_POOL_LINES", 1197)
    assert auto_workers([dirty], cores=2) == 2
    assert auto_workers([dirty], cores=8) == 2
    assert auto_workers([dirty], cores=1) == 0
    assert auto_workers([LINES, tmp_path / "missing.parquet"], cores=2) == 0
    monkeypatch.setattr(score_parts, "AUTO_POOL_LINES", 1198)
    assert auto_workers([dirty], cores=2) == 0


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's lines as Parquet, with bad rows, repeated keys within a chunk and across
    chunks (of 150 rows), and one key repeated in a later chunk and again within it."""
    text = pd.read_csv(LINES, dtype=str, keep_default_na=False)
    key = ["entry_id", "line_no"]
    text.loc[10, "line_no"] = "one"  # not an integer
    text.loc[20, "declared_value_usd"] = "lots"  # not a number
    text.loc[30, key] = text.loc[31, key].to_numpy()  # within a chunk (the later of two rows)
    text.loc[400, key] = text.loc[5, key].to_numpy()  # across chunks
    text.loc[401, key] = text.loc[5, key].to_numpy()  # and again within that later chunk
    text.loc[900, key] = text.loc[850, key].to_numpy()  # the chunk just before
    path = tmp_path_factory.mktemp("dirty") / "dirty.parquet"
    text.to_parquet(path, index=False)
    return path


def test_workers_reading_their_own_parts_write_what_one_process_writes(
    scorer: Scorer, dirty: Path, tmp_path: Path
) -> None:
    """Workers read the Parquet input's chunks themselves: the scores (Parquet table, CSV
    bytes), the quarantine file (rows, reasons naming the first occurrence in an earlier
    chunk) and the HS chapters equal one process's, with a CSV input (read by the parent)
    after it."""
    runs = {}
    for workers in (0, 2):
        for suffix in (".parquet", ".csv"):
            sectors: list[np.ndarray] = []
            out = tmp_path / f"w{workers}" / f"scores{suffix}"
            n = score_files(
                scorer, [dirty, LINES], out, None, 3, 0.05, True, chunk_rows=150,
                sectors=sectors, workers=workers,
            )  # fmt: skip
            quarantine = out.with_name(f"{out.stem}.dirty.quarantine.csv").read_bytes()
            runs[workers, suffix] = (n, out, np.concatenate(sectors), quarantine)
    one, two = runs[0, ".parquet"], runs[2, ".parquet"]
    assert one[0] == two[0] == 2 * 1197 - 6
    assert pq.read_table(two[1]).equals(pq.read_table(one[1]))
    assert runs[2, ".csv"][1].read_bytes() == runs[0, ".csv"][1].read_bytes()
    assert two[2].tolist() == one[2].tolist()
    assert two[3] == one[3] == runs[2, ".csv"][3]
    quarantine = pd.read_csv(io.BytesIO(two[3]), dtype=str, keep_default_na=False)
    assert quarantine["_row"].tolist() == ["11", "21", "32", "401", "402", "901"]
    assert "first seen at row 6" in quarantine["_reason"].iloc[3]
    assert "first seen at row 6" in quarantine["_reason"].iloc[4]
    assert "first seen at row 851" in quarantine["_reason"].iloc[5]


def test_workers_stop_at_bad_rows_and_missing_columns_as_one_process(
    scorer: Scorer, dirty: Path, tmp_path: Path
) -> None:
    """Without --allow-bad-rows the first chunk with bad rows stops the run after it is
    quarantined; a file without a required column is refused in the reader's words."""
    errors = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}" / "scores.parquet"
        with pytest.raises(BadRowsError) as err:
            score_files(scorer, [dirty], out, None, 3, 0.05, False, chunk_rows=150,
                        workers=workers)  # fmt: skip
        message = str(err.value).replace(str(out.parent), "")
        errors.append((message, err.value.bad_rows["row"].tolist()))
        assert not out.exists()
    assert errors[0] == errors[1]
    assert errors[0][1] == [11, 21, 32]
    lacking = tmp_path / "lacking.parquet"
    pd.read_parquet(dirty).drop(columns="hts_code").to_parquet(lacking, index=False)
    with pytest.raises(MissingColumnError, match="hts_code"):
        score_files(scorer, [lacking], tmp_path / "x.parquet", None, 0, 0.0, True, workers=2)
