"""Makes ``dp_dbt`` importable where it is not installed: the main environment runs these tests too.

``dp_dbt`` is installed in the dbt environment (``.runtime/venvs/dbt``) only; its profile generation imports nothing
of dbt, so the main environment's pytest (``testpaths`` holds ``platform``) runs the same tests from the source.
"""

from __future__ import annotations

import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
