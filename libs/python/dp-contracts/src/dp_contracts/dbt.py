"""The contracts as dbt sources: the ``sources:`` document of the Silver tables, with their docs and data tests.

A compiler target like :mod:`dp_contracts.compiler`, pure: the caller passes what the lakehouse decides (Silver's
namespace, the columns Silver adds after the contract's own, which of them holds the ingestion time) and the
freshness thresholds from config. One source ``silver``; one table per contract, named by its Silver table name
without the namespace (``<domain>__<entity>``) and described by the record's ``doc``; its columns are the
contract's top-level fields (their ``doc``; ``not_null`` on a required field, a warning only when it has a default
(a field an evolution added: Silver's rows from before it hold null), ``accepted_values`` with the symbols
on an enum, ``unique`` and ``not_null`` on the event id ``dp.event_id``, ``unique`` on the key ``dp.key`` of
reference data, whose Silver table keeps the latest version per key) followed by the metadata columns. Given a
``versions_suffix``, a reference contract also has the table of all its versions, ``<domain>__<entity><suffix>``:
the same columns, one row per key and event time (no ``unique``). Freshness
is measured on the ingestion column; ``loaded_at_field`` and ``freshness`` sit under the source's ``config`` and
generic tests take ``arguments``, as dbt 1.10's property schema wants them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from dp_contracts import ir
from dp_contracts.model import Contract

SOURCE_NAME = "silver"


def _column_tests(contract: Contract, field: ir.FieldT, unique_key: bool) -> list[Any]:
    tests: list[Any] = []
    if field.name == contract.meta.event_id or (unique_key and field.name == contract.meta.key):
        tests.append("unique")
    if field.name == contract.meta.event_id or (field.required and field.default is ir.MISSING):
        tests.append("not_null")
    elif field.required:  # added by an evolution with its default: Silver's rows from before it hold null
        tests.append({"not_null": {"config": {"severity": "warn"}}})
    if isinstance(field.type, ir.EnumT):
        tests.append({"accepted_values": {"arguments": {"values": list(field.type.symbols)}}})
    return tests


def _column(contract: Contract, field: ir.FieldT, unique_key: bool) -> dict[str, Any]:
    column: dict[str, Any] = {"name": field.name, "description": field.doc or ""}
    tests = _column_tests(contract, field, unique_key)
    if tests:
        column["data_tests"] = tests
    return column


def _named(contract: Contract, suffix: str, domain: str | None) -> dict[str, Any]:
    """The table's ``name`` (and ``identifier``): ``<domain>__<entity><suffix>`` as Silver names it; with ``domain``
    (text, e.g. an ``env_var`` reference), ``<entity><suffix>`` read from ``<domain>__<entity><suffix>``."""
    if domain is None:
        return {"name": contract.table_stem + suffix}
    return {"name": contract.name + suffix, "identifier": f"{domain}__{contract.name}{suffix}"}


def dbt_source_table(
    contract: Contract,
    metadata_columns: Sequence[tuple[str, str]],
    versions_suffix: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """One contract's entry in the source's ``tables``; ``metadata_columns``: (name, description) Silver adds. With
    ``versions_suffix``: the entry of its versions table instead (reference contracts only). With ``domain``: named
    by entity, the domain in the ``identifier`` (see :func:`to_dbt_sources`)."""
    reference = contract.meta.kind == "reference"
    columns = [_column(contract, field, reference and versions_suffix is None) for field in contract.record.fields]
    columns += [{"name": name, "description": doc} for name, doc in metadata_columns]
    if versions_suffix is None:
        return {**_named(contract, "", domain), "description": contract.record.doc or "", "columns": columns}
    if not reference:
        raise ValueError(f"{contract.name} is not reference data: only reference data has a versions table")
    description = (
        f"Every version of {contract.name} Silver has seen, one row per {contract.meta.key} and "
        f"{contract.meta.event_time} (the latest of each is in {contract.table_stem}): {contract.record.doc or ''}"
    )
    return {**_named(contract, versions_suffix, domain), "description": description.rstrip(": "), "columns": columns}


def to_dbt_sources(
    contracts: Sequence[Contract],
    *,
    schema: str,
    metadata_columns: Sequence[tuple[str, str]],
    loaded_at_field: str,
    warn_after_hours: int,
    error_after_hours: int,
    command: str,
    versions_suffix: str | None = None,
    domain: str | None = None,
) -> str:
    """The dbt ``sources:`` YAML of ``contracts``' Silver tables (sorted by name), headed by the ``command`` that
    generates it. ``schema`` is Silver's namespace; the thresholds warn and fail on the newest ``loaded_at_field``;
    with ``versions_suffix``, each reference contract's versions table too.

    With ``domain`` (text: a domain, or an ``env_var`` reference that picks one at run time), each table is named by
    its entity (``order_placed``) and reads ``<domain>__<entity>``: the models then run on any domain's Silver
    tables. Two domains' contracts of one name cannot both be listed so.

    Raises:
        ValueError: with ``domain``, two contracts of the same name.
    """
    if domain is not None:
        by_name: dict[str, Contract] = {}
        for c in contracts:
            if c.name in by_name:
                raise ValueError(
                    f"contracts {by_name[c.name].table_stem} and {c.table_stem} share the name {c.name!r}: "
                    "sources named by entity hold one contract per name"
                )
            by_name[c.name] = c
    entries = [dbt_source_table(c, metadata_columns, domain=domain) for c in contracts]
    if versions_suffix is not None:
        entries += [
            dbt_source_table(c, metadata_columns, versions_suffix, domain)
            for c in contracts
            if c.meta.kind == "reference"
        ]
    tables = sorted(entries, key=lambda table: str(table["name"]))
    source = {
        "name": SOURCE_NAME,
        "description": "Silver: the contracts' events, validated and deduplicated, with where each row came from",
        "schema": schema,
        "config": {
            "loaded_at_field": loaded_at_field,
            "freshness": {
                "warn_after": {"count": warn_after_hours, "period": "hour"},
                "error_after": {"count": error_after_hours, "period": "hour"},
            },
        },
        "tables": tables,
    }
    body = yaml.safe_dump({"version": 2, "sources": [source]}, sort_keys=False, allow_unicode=True, width=120)
    return f"# Generated from the data contracts (schemas/avro) by `{command}`: do not edit.\n{body}"
