"""Trying a bundle in a child process before a long-running process loads it.

LightGBM parses a model file in native code, and some malformed files make it abort the
whole process (``std::terminate``) instead of raising: a server that loaded such a file
itself would die, whatever its ``try``. So a server first has a fresh child process load the
bundle and score a warm-up line; only when the child exits 0 does the server load it.

The child is a new interpreter (``python -m models.scoring.check FOLDER``), started with
``subprocess`` (fork + exec at once: no Python code of the parent runs in it, nothing loaded is
inherited), never a ``fork`` of a process that holds a model. It reads the bundle as the server
does (LightGBM's text format and JSON; no pickle), and a timeout bounds it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from models.scoring.bundle import ModelIntegrityError

if TYPE_CHECKING:
    from models.scoring.scorer import Scorer

# Exit status of a child that refused the bundle with a Python exception (a native abort is a
# signal instead).
REFUSED = 3
# Output of the child kept for the reason: LightGBM's own words, bounded.
_TAIL_CHARS = 2000
# "[LightGBM] [Fatal] Model format error ... at /path/of/the/build/file.h, line 1173 ." ->
# the message without the build machine's source path.
_FATAL = re.compile(r"\[LightGBM\] \[Fatal\] (?P<msg>.*?)(?: at \S+, line \d+ ?\.?)?\s*$")

# One made-up line scored before a model takes traffic: reference tables, matchers and
# LightGBM's first call are loaded then, not during the first caller's request.
WARM_LINE = {
    "entry_id": "WARMUP-0", "line_no": "1", "entry_date": "2025-01-02", "hts_code": "6109100012",
    "country_of_origin": "CN", "country_of_export": "VN", "port_of_lading": "VNSGN",
    "port_of_entry": "2704", "transport_mode": "vessel", "quantity": "10",
    "gross_weight_kg": "12.5", "declared_value_usd": "250", "manufacturer_name": "Warm-up Co",
    "manufacturer_address": "1 Road, Urumqi, Xinjiang, China", "shipper_name": "Warm-up Co",
    "goods_description": "cotton t-shirts",
}  # fmt: skip


def warm(scorer: Scorer) -> None:
    """Score :data:`WARM_LINE` (with reasons) once: the first real request then runs warm."""
    from models.contract.validate import validate_lines

    state = scorer.bundle.state
    line = {**WARM_LINE, **{c: None for c in state.passthrough}}
    read = validate_lines({k: [v] for k, v in line.items()}, passthrough=state.passthrough)
    scorer.score(read.lines, reasons=3)


def _ints(fields: dict[str, str], key: str, tree: int) -> list[int]:
    raw = fields.get(key, "").split()
    try:
        return [int(v) for v in raw]
    except ValueError:
        raise ModelIntegrityError(f"tree {tree}: {key} is not a list of integers") from None


def check_trees(text: str) -> int:
    """Check the structure of every tree of a LightGBM text model; return the tree count.

    LightGBM parses child indices and split features without checking their range: a
    child out of range or pointing back up the tree crashes or loops forever on the lines
    that reach it, and a split feature out of range reads outside the line's values. Each
    tree must be a tree: from node 0, every internal node and every leaf reached exactly
    once, on features ``0..max_feature_idx``.

    Raises:
        ModelIntegrityError: What is wrong, and in which tree.
    """
    header, _, rest = text.partition("\nend of trees")[0].partition("\nTree=")
    fields = dict(ln.split("=", 1) for ln in header.splitlines() if "=" in ln)
    try:
        max_feature = int(fields["max_feature_idx"])
    except (KeyError, ValueError):
        raise ModelIntegrityError("no max_feature_idx in the model's header") from None
    trees = 0
    for block in ("Tree=" + rest).split("\nTree=") if rest else []:
        tree_fields = dict(ln.split("=", 1) for ln in block.splitlines() if "=" in ln)
        if "num_leaves" not in tree_fields:  # the end of the model (feature importances...)
            continue
        t = trees
        trees += 1
        n_leaves = (_ints(tree_fields, "num_leaves", t) or [0])[0]
        if n_leaves < 1:
            raise ModelIntegrityError(f"tree {t}: num_leaves {n_leaves}")
        n = n_leaves - 1  # internal nodes
        split, left, right = (_ints(tree_fields, k, t) for k in
                              ("split_feature", "left_child", "right_child"))  # fmt: skip
        if not len(split) == len(left) == len(right) == n:
            raise ModelIntegrityError(
                f"tree {t}: {n_leaves} leaves need {n} nodes; split_feature, left_child and "
                f"right_child have {len(split)}, {len(left)}, {len(right)}"
            )
        bad = [f for f in split if not 0 <= f <= max_feature]
        if bad:
            raise ModelIntegrityError(
                f"tree {t}: split on feature {bad[0]}, the model has features 0..{max_feature}"
            )
        seen_nodes, seen_leaves, todo = set(), set(), [0] if n else []
        while todo:
            node = todo.pop()
            if node in seen_nodes:
                raise ModelIntegrityError(
                    f"tree {t}: node {node} is reached twice (a cycle or a shared node)"
                )
            seen_nodes.add(node)
            for child in (left[node], right[node]):
                if child >= 0:
                    if child >= n:
                        raise ModelIntegrityError(
                            f"tree {t}: node {node} has child {child}; it has {n} nodes"
                        )
                    todo.append(child)
                else:
                    leaf = ~child
                    if leaf >= n_leaves or leaf in seen_leaves:
                        raise ModelIntegrityError(
                            f"tree {t}: node {node} has leaf {leaf} out of range or twice"
                        )
                    seen_leaves.add(leaf)
        if len(seen_nodes) != n or len(seen_leaves) != (n_leaves if n else 0):
            raise ModelIntegrityError(f"tree {t}: some nodes or leaves are not reachable")
    if trees == 0:
        raise ModelIntegrityError("the model has no trees")
    return trees


def _reason(returncode: int, output: str) -> str:
    fatal = [m["msg"].strip() for m in map(_FATAL.match, output.splitlines()) if m]
    said = next((f for f in fatal if f), "")
    if not said:  # a Python refusal: the child's last line says what it was
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        said = lines[-1] if lines else ""
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"exited with status {returncode}"
    return f"loading it in a child process failed (the child {how})" + (
        f": {said[:300]}" if said else ""
    )


# What children said of each bundle hash in this process. The same bytes load the same way,
# so a bundle is tried once: a server retrying a refused champion (every reload interval)
# or going back to a version it served before starts no new child. Time-outs are not kept
# (a busy machine can cause them).
_REFUSED: dict[str, str] = {}  # bundle hash -> why
_PASSED: set[str] = set()


def check_in_child(
    folder: Path, num_threads: int = 1, timeout_s: float = 120.0, bundle_hash: str = ""
) -> float:
    """Load ``folder``'s bundle and score a warm-up line in a new process.

    Args:
        folder: A bundle folder whose files already match their manifest.
        num_threads: LightGBM threads in the child.
        timeout_s: The child is killed after this long and the bundle refused.
        bundle_hash: The bundle's hash (of files verified against it), if known: a bundle
            tried before in this process is not tried again.

    Returns:
        Seconds the child took (0 if the bundle passed before).

    Raises:
        ModelIntegrityError: The child did not exit 0 (a native abort, a Python exception
            or the timeout): the bundle must not be loaded.
    """
    if bundle_hash in _REFUSED:
        raise ModelIntegrityError(_REFUSED[bundle_hash])
    if bundle_hash and bundle_hash in _PASSED:
        return 0.0
    cmd = [sys.executable, "-m", __name__, str(folder), "--threads", str(num_threads)]
    # The child must import this package from where this process does (a checkout run
    # without installing it, e.g. PYTHONPATH or the current directory).
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed and reaped the child
        raise ModelIntegrityError(
            f"loading it in a child process did not finish within {timeout_s:g} s"
        ) from exc
    except OSError as exc:  # no process could be started: not loaded unchecked either
        raise ModelIntegrityError(
            f"no child process could be started to load it first: {exc.strerror or exc}"
        ) from exc
    elapsed = time.monotonic() - t0
    if done.returncode != 0:
        # The folder is a temporary path, meaningless to whoever reads the reason.
        output = done.stdout.decode("utf-8", "replace")[-_TAIL_CHARS:]
        output = output.replace(str(folder), "the bundle")
        reason = _reason(done.returncode, output)
        if bundle_hash:
            _REFUSED[bundle_hash] = reason
        raise ModelIntegrityError(reason)
    if bundle_hash:
        _PASSED.add(bundle_hash)
    return elapsed


def _child(folder: Path, num_threads: int) -> int:
    # What the server would do: verify, parse, build the scorer, score with reasons; then
    # walk every tree.
    # LightGBM's scikit-learn API is never used here: import LightGBM as if scikit-learn
    # were not installed (it catches the ImportError), a second less per check.
    if "lightgbm" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # type: ignore[assignment]
        try:
            import lightgbm  # noqa: F401
        finally:
            del sys.modules["sklearn"]
    from models.scoring.bundle import MODEL_FILE, load_bundle
    from models.scoring.scorer import Scorer

    try:
        check_trees((folder / MODEL_FILE).read_text(encoding="utf-8"))
        scorer = Scorer(load_bundle(folder, num_threads=num_threads), version="check")
        warm(scorer)
        # Every node of every tree, natively: a child index or split feature out of range
        # parses without a word but crashes prediction only on the lines that reach it.
        scorer.bundle.booster.dump_model()
    except Exception as exc:  # any refusal is reported the same way
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return REFUSED
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m models.scoring.check FOLDER [--threads N]``: exit 0 if the bundle loads."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    return _child(args.folder, args.threads)


if __name__ == "__main__":
    sys.exit(main())
