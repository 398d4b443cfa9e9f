"""Re-test mutants against chosen test files only, and record the killed ones for mutmut.

``mutmut run NAME...`` re-tests a survivor with every selected test that calls its function:
on the shared 2-core machine that is a minute or more a mutant. After writing tests for some
survivors, this runs only the given test files against each named mutant (the same
trampoline mutmut uses: ``MUTANT_UNDER_TEST`` in the ``mutants/`` copy, one forked pytest per
mutant, stopping at the first failure) and, with ``--record``, writes a killed mutant's exit
code into mutmut's results (``mutants/**/*.meta``), so that ``make mutate-report`` counts it.
A mutant that passes keeps its result: it survived every test before, and these too.

Usage (from the repository root, after a ``mutmut run`` made ``mutants/``)::

    .venv/bin/python tests/mutation_recheck.py --record NAMES_FILE tests/models/test_store.py
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def _meta_of(mutant: str) -> Path:
    """The ``.meta`` file holding a mutant's result (its module's path under ``mutants/``)."""
    module = mutant.split(".x", 1)[0]  # "models.store.audit.xǁAuditStoreǁ..." -> the module
    return Path(*module.split(".")).with_suffix(".py.meta")


def _run(mutant: str, tests: list[str]) -> int:
    """pytest's exit code for ``tests`` with ``mutant`` active, in a forked child."""
    pid = os.fork()
    if pid == 0:  # the child: the mutant switched on, the tests run, the exit code returned
        os.environ["MUTANT_UNDER_TEST"] = mutant
        signal.alarm(300)  # a mutant that hangs is not counted as killed here
        import pytest

        args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--no-header"]
        code = pytest.main([*args, *tests])
        os._exit(int(code))
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main(argv: list[str]) -> int:
    """Re-test the mutants named in a file (one a line) with the given test files."""
    record = "--record" in argv
    names_file, *tests = [a for a in argv if a != "--record"]
    names = [n.strip() for n in Path(names_file).read_text().splitlines() if n.strip()]
    os.chdir("mutants")
    sys.path.insert(0, os.getcwd())
    import pytest

    # Collected once in the parent, so that each forked child finds the test modules and the
    # libraries they import already loaded (on a loaded machine, importing them again took
    # minutes a mutant); nothing runs here, so no test state reaches the children.
    pytest.main(["-q", "-p", "no:cacheprovider", "--collect-only", *tests])

    killed = []
    for name in names:
        code = _run(name, tests)
        print(f"{name}: {'killed' if code == 1 else 'survived' if code == 0 else code}")
        if code == 1:
            killed.append(name)
    if record:
        for name in killed:
            meta = _meta_of(name)
            data = json.loads(meta.read_text())
            data["exit_code_by_key"][name] = 1
            meta.write_text(json.dumps(data, indent=4))
    print(f"{len(killed)} of {len(names)} killed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
