"""The dbt project's sources file, generated from the contracts (``dp transform sources``) and checked for staleness
(``dp transform sources --check``, part of ``make lint``).

The file holds what ``dp contracts show NAME --as dbt-source`` prints, for every contract at once
(:func:`dp_contracts.cli.dbt_sources`), except for the schema: one source ``silver`` whose schema is
``env_var('DTHEINFRA_DBT_SILVER_NAMESPACE', <iceberg.namespaces.silver>)`` (``dp transform`` sets the variable from the
settings of the run, so a ``DP_ICEBERG_NAMESPACES__SILVER`` override reaches dbt), one table per contract named by
its entity (``order_placed``) that reads ``<domain>__<name>`` with the domain ``env_var('DTHEINFRA_DBT_DOMAIN',
<demo.domain>)`` (``dp transform --domain``), its columns with their docs and data tests, freshness on
``_ingested_at`` with the thresholds of ``transform.source_freshness_*`` (as generated: the file is committed). The
text is deterministic (tables sorted, fixed YAML layout) and headed by a comment naming the command that writes it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from dp_contracts.model import Contract
from dp_core.config import PlatformSettings
from dp_transform.errors import SourcesStaleError
from dp_transform.runner import DBT_UNIT, DOMAIN_ENV, SILVER_NAMESPACE_ENV

#: The command that writes the file; the file's header names it.
SOURCES_COMMAND = "dp transform sources"
#: The generated file, relative to the repository root.
SOURCES_FILE = DBT_UNIT / "project" / "models" / "staging" / "_sources.yml"
#: Lines of the difference a stale check shows.
DIFF_LINES = 40


def render_sources(contracts: Sequence[Contract], settings: PlatformSettings) -> str:
    """The text of the sources file for ``contracts`` (pure)."""
    # imported here: dp_contracts.cli brings the schema-registry client, which the dbt commands do not need
    from dp_contracts.cli import dbt_sources

    # the schema follows the settings of the run (dp transform sets DTHEINFRA_DBT_SILVER_NAMESPACE), the default is
    # the configured one
    schema = f"{{{{ env_var('{SILVER_NAMESPACE_ENV}', '{settings.iceberg.namespaces.silver}') }}}}"
    # tables named by entity, the domain chosen at run time (dp transform --domain sets DTHEINFRA_DBT_DOMAIN): the
    # models run on any domain's Silver tables, a test's or a benchmark's included
    domain = f"{{{{ env_var('{DOMAIN_ENV}', '{settings.demo.domain}') }}}}"
    return dbt_sources(list(contracts), settings, SOURCES_COMMAND, schema, domain)


def write_sources(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it already holds it; return whether the file changed."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def check_sources(path: Path, expected: str, shown_as: str) -> None:
    """Check that the file at ``path`` holds ``expected``; ``shown_as`` names it in the messages.

    Raises:
        SourcesStaleError: the file is missing, or differs (its ``diff``: the unified difference from the file to
            ``expected``, at most :data:`DIFF_LINES` lines). The message names the command that regenerates it.
    """
    if not path.is_file():
        raise SourcesStaleError(f"{shown_as} is missing: run `{SOURCES_COMMAND}` to generate it", shown_as)
    current = path.read_text(encoding="utf-8")
    if current == expected:
        return
    diff = list(
        difflib.unified_diff(
            current.splitlines(), expected.splitlines(), f"{shown_as} (on disk)", f"{shown_as} (generated)", lineterm=""
        )
    )
    if len(diff) > DIFF_LINES:
        diff = [*diff[:DIFF_LINES], f"... ({len(diff) - DIFF_LINES} more lines)"]
    raise SourcesStaleError(
        f"{shown_as} is stale (the contracts in schemas/avro, or the settings it is generated from, changed since it "
        f"was written): run `{SOURCES_COMMAND}` and commit the result",
        shown_as,
        diff,
    )
