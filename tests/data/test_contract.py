from typing import Any

import pandas as pd

from models.contract import columns as contract
from models.contract.columns import BadRowsError, MissingColumnError


def test_columns_partition_the_contract():
    assert contract.REQUIRED == (
        "entry_id",
        "line_no",
        "entry_date",
        "hts_code",
        "country_of_origin",
    )
    assert set(contract.LABELS) == {"inspected", "inspection_reason", "violation"}
    assert len(set(contract.ALL_COLUMNS)) == len(contract.ALL_COLUMNS) == 24
    assert set(contract.REQUIRED) | set(contract.OPTIONAL) | set(contract.LABELS) == set(
        contract.ALL_COLUMNS
    )


def test_country_codes_are_iso_assigned_only():
    codes = contract.country_codes()
    assert {"CN", "VN", "US", "NA"} <= codes  # NA is Namibia, not "missing"
    assert "ZZ" in codes  # explicit "unknown"
    assert "XK" not in codes and "UK" not in codes and "XX" not in codes
    assert contract.country_codes() is codes  # cached


def test_allowed_values():
    assert sorted(contract.TRANSPORT_MODES) == ["air", "rail", "truck", "vessel"]
    assert sorted(contract.INSPECTION_REASONS) == ["random", "targeted", "tip"]


def test_missing_column_message_names_columns():
    assert str(MissingColumnError("hts_code")) == "missing required column 'hts_code'"
    err = MissingColumnError(["hts_code", "entry_date"])
    assert "'hts_code', 'entry_date'" in str(err) and err.columns == ["hts_code", "entry_date"]


def test_bad_rows_error_lists_first_twenty_and_total():
    report = pd.DataFrame(
        {
            "row": range(2, 32),
            "column": "entry_date",
            "value": "2024-13-01",
            "reason": "unparseable date '2024-13-01'",
            "source": "a.csv",
        }
    )
    err = BadRowsError(report, "a.quarantine.csv")
    msg = str(err)
    assert "row 2, column 'entry_date': unparseable date '2024-13-01'" in msg
    assert "row 21," in msg and "row 22," not in msg
    assert "30 problem(s) in 30 bad row(s)" in msg and "... and 10 more" in msg
    assert err.bad_rows is report
    assert isinstance(err, ValueError)


def test_a_keys_fingerprint_mixes_two_python_hashes_of_its_id_with_its_line_number():
    """Each id hashed once (itself, and after a separator), mixed with the line number."""
    import numpy as np

    from models.contract.duplicates import SeenKeys, _mix

    ids = ["E-1", "E-2"]
    codes, line_no = np.array([0, 0, 1]), np.array([1, 2, 1])
    h1, h2 = SeenKeys.fingerprint(ids, codes, line_no)
    assert h1.dtype == h2.dtype == np.uint64  # what the seen keys are sorted and kept as
    first = np.array([hash("E-1"), hash("E-1"), hash("E-2")], np.int64).view(np.uint64)
    second = np.array([hash(f"\x1eE-{i}") for i in (1, 1, 2)], np.int64).view(np.uint64)
    lines = line_no.astype(np.uint64)
    assert h1.tolist() == _mix(first ^ _mix(lines + np.uint64(1))).tolist()
    assert h2.tolist() == _mix(second ^ _mix(lines + np.uint64(2))).tolist()
    assert len(set(h1.tolist())) == len(set(h2.tolist())) == 3  # each tells the keys apart
    assert not set(h1.tolist()) & set(h2.tolist())  # and the two hashes differ


def test_splitmix_mixes_every_bit_and_wraps_around():
    """The published splitmix64 outputs (seed 0: its first values), past 2**64 without error."""
    import numpy as np

    from models.contract.duplicates import _mix

    golden = 0x9E3779B97F4A7C15
    seeds = np.array([0, golden, 2**64 - 1], np.uint64)
    got = _mix(seeds).tolist()
    assert got[:2] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]
    assert got[2] == 0xE4D971771B652C20


def _fingerprints(keys: list[tuple[str, int]]) -> tuple[Any, Any]:
    import numpy as np

    from models.contract.duplicates import SeenKeys

    ids = sorted({k for k, _ in keys})
    codes = np.array([ids.index(k) for k, _ in keys], dtype=np.int64)
    return SeenKeys.fingerprint(ids, codes, np.array([n for _, n in keys], dtype=np.int64))


def test_seen_keys_answer_minus_one_for_keys_never_seen_and_keep_rows_exactly():
    import numpy as np

    from models.contract.duplicates import SeenKeys

    seen = SeenKeys()
    assert seen.find(*_fingerprints([("E-1", 1)])).tolist() == [-1]  # nothing seen yet
    far = 2**53 + 1  # a row number a float cannot hold
    seen.add(*_fingerprints([("E-1", 1)]), np.array([far]), "a.csv")
    seen.add(*_fingerprints([("E-9", 1), ("E-2", 1)]), np.array([3, 4]), "b.csv")
    got = seen.find(*_fingerprints([("E-2", 1), ("E-3", 1), ("E-1", 1)]))
    assert got[1] == -1
    assert [seen.where(int(p)) for p in got[[0, 2]]] == [("b.csv", 4), ("a.csv", far)]
    assert seen.find(*_fingerprints([("E-1", 2), ("E-2", 11)])).tolist() == [-1, -1]


def test_seen_keys_take_28_bytes_a_key_and_a_bitmap():
    """Two 64-bit hashes, a 64-bit row and a 32-bit file index: tens of millions of keys fit;
    the bitmap takes 32 to 64 bits a key once past its smallest size."""
    import numpy as np

    from models.contract.duplicates import SeenKeys

    seen = SeenKeys()
    keys = [(f"E-{i}", 1) for i in range(100)]
    seen.add(*_fingerprints(keys[:60]), np.arange(60), "a.csv")
    seen.add(*_fingerprints(keys[60:]), np.arange(40), "b.csv")
    arrays = [a for run in seen._runs for a in run]
    assert len(seen) == 100 and sum(a.nbytes for a in arrays) == 28 * 100
    h = np.random.default_rng(0).integers(0, 2**64, (2, 100_000), dtype=np.uint64)
    seen.add(h[0], h[1], np.arange(100_000), "c.csv")
    assert 32 * len(seen) <= seen._bits.nbytes * 8 <= 64 * len(seen)


def test_seen_keys_search_the_runs_for_few_unseen_keys_and_refuse_positions_past_the_end():
    """The bitmap: 32 bits a key right at a power of two, and under 1% of unseen keys let
    through to the runs (a Bloom filter of two bits a key gives 0.37% there); a position
    past the keys is an error, not another key's row."""
    import numpy as np
    import pytest

    from models.contract.duplicates import SeenKeys

    rng = np.random.default_rng(3)
    seen = SeenKeys()
    h = rng.integers(0, 2**64, (2, 2**16), dtype=np.uint64)
    seen.add(h[0], h[1], np.arange(2**16), "a.csv")
    assert seen._bits.nbytes * 8 == 32 * 2**16  # grown from 2**16 bits one power at a time
    fresh = rng.integers(0, 2**64, (2, 200_000), dtype=np.uint64)
    assert seen._maybe(fresh[0], fresh[1]).mean() < 0.007
    assert seen._maybe(h[0], h[1]).all()  # never a key seen turned away
    assert seen.where(2**16 - 1)[0] == "a.csv"
    for pos in (2**16, -1):
        with pytest.raises(IndexError, match=r"^no seen key at that position$"):
            seen.where(pos)
