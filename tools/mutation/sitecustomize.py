"""Imported at start-up by every Python process that has this directory on PYTHONPATH.

Only a child process started by a test during mutmut's stats run is touched: see
mutmut_subprocess_stats.py.
"""

import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("WSQA_MUTMUT_CHILD_HITS"):
    import mutmut_subprocess_stats

    mutmut_subprocess_stats.install_child()
