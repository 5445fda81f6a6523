"""The analysis package loads its submodules on first use (#21) and still exports what it always did."""

from __future__ import annotations

import subprocess
import sys

from cowrieprocessor import analysis


def test_every_public_name_resolves_to_its_home_module() -> None:
    assert set(analysis._HOME) == set(analysis.__all__)
    for name, home in analysis._HOME.items():
        assert getattr(analysis, name).__module__ == f"cowrieprocessor.analysis.{home}", name


def test_a_command_loads_only_the_module_it_uses() -> None:
    script = (
        "import sys\n"
        "from cowrieprocessor import analysis\n"
        "analysis.top_asns\n"
        "print(sorted(m for m in sys.modules if m.startswith('cowrieprocessor.analysis.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    loaded = str([f"cowrieprocessor.analysis.{name}" for name in ("inventory", "provenance", "sql")])
    assert done.stdout.strip() == loaded


def test_functions_named_like_their_module_stay_functions() -> None:
    """Importing ``analysis.related`` (the module) first must not hide ``analysis.related`` (the function)."""
    script = (
        "import cowrieprocessor.analysis.related, cowrieprocessor.analysis.attribution\n"
        "from cowrieprocessor import analysis\n"
        "print(callable(analysis.related), callable(analysis.attribution), analysis.related.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["True", "True", "cowrieprocessor.analysis.related"]
