"""Why a speed-layer job failed, in one line, from the JVM's exception text and the job's log.

When a Python function fails inside Flink, the job restarts a few times and then stops; what reaches the client is
a Java exception about the shut-down MiniCluster or "Recovery is suppressed". The cause -- the first Python
exception, or the deepest Java cause of the first failure -- is in the log (``<runtime>/logs/flink-jobs``, where
``dp stream run`` points ``FLINK_LOG_DIR``). Pure text in, text out.
"""

from __future__ import annotations

import re
from pathlib import Path

#: a Python exception raised in a function the JVM called (thread mode), as the JVM logs it
_PYTHON = re.compile(r"pemja\.core\.PythonException: <class '([\w.]+)'>: ?(.*)")
_CAUSED_BY = re.compile(r"^Caused by: (.+)$", re.MULTILINE)
#: wrappers that say a job failed, not why
_GENERIC = (
    "MiniCluster is not yet running",
    "Recovery is suppressed",
    "Job execution failed",
    "JobExecutionException",
    "JobCancellationException",
)


def root_cause(text: str) -> str | None:
    """The first Python exception in ``text``, else the deepest ``Caused by:`` of its first failure; None if none."""
    python = _PYTHON.search(text)
    if python is not None:
        return f"{python.group(1)}: {python.group(2).strip()}" if python.group(2).strip() else python.group(1)
    causes = [c.strip() for c in _CAUSED_BY.findall(text) if not any(g in c for g in _GENERIC)]
    return causes[-1] if causes else None


class LogWatch:
    """The log files of a folder, read from where they ended when the watch began (this run's lines only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._start = {p: p.stat().st_size for p in self._files()}

    def _files(self) -> list[Path]:
        return sorted(self.folder.glob("*.log")) if self.folder.is_dir() else []

    def new_text(self, limit: int = 20_000_000) -> tuple[str, Path | None]:
        """(the text written since the watch began, the file it came from: the one that grew most)."""
        grown = {p: p.stat().st_size - self._start.get(p, 0) for p in self._files()}
        grown = {p: n for p, n in grown.items() if n > 0}
        if not grown:
            return "", None
        path = max(grown, key=lambda p: grown[p])
        with path.open("rb") as handle:
            handle.seek(max(self._start.get(path, 0), path.stat().st_size - limit))
            return handle.read().decode("utf-8", "replace"), path
