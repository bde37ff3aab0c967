"""The shipped contracts compile to dbt sources: their columns and docs, tests from the contract, freshness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from dp_contracts import ir
from dp_contracts.cli import dbt_sources
from dp_contracts.dbt import dbt_source_table, to_dbt_sources
from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_core.config import PlatformSettings, find_repo_root
from dp_core.config.models import TransformSettings
from dp_lakehouse.tables import SILVER_INGESTED_AT, SILVER_METADATA_DOCS, VERSIONS_SUFFIX, silver_table, versions_table

SHIPPED = load_contracts(contracts_dir(find_repo_root(Path(__file__))))
METADATA = [name for name, _ in SILVER_METADATA_DOCS]


def render(
    contracts: list[Contract],
    warn: int = 2,
    error: int = 12,
    versions_suffix: str | None = None,
    domain: str | None = None,
    command: str = "dp transform sources",
) -> str:
    return to_dbt_sources(
        contracts,
        schema="silver",
        metadata_columns=SILVER_METADATA_DOCS,
        loaded_at_field=SILVER_INGESTED_AT,
        warn_after_hours=warn,
        error_after_hours=error,
        command=command,
        versions_suffix=versions_suffix,
        domain=domain,
    )


def source(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert document["version"] == 2
    [silver] = document["sources"]
    assert isinstance(silver, dict)
    return silver


def tables(text: str) -> dict[str, dict[str, Any]]:
    return {table["name"]: table for table in source(text)["tables"]}


def columns_with(table: dict[str, Any], test: str) -> set[str]:
    """The columns of ``table`` carrying ``test``."""
    return {
        column["name"]
        for column in table["columns"]
        for entry in column.get("data_tests", [])
        if entry == test or (isinstance(entry, dict) and test in entry)
    }


def test_every_contract_is_a_table_of_the_silver_source_named_as_silver_names_it() -> None:
    silver = source(render(SHIPPED))
    assert silver["name"] == "silver"
    assert silver["schema"] == "silver"
    settings = PlatformSettings()
    assert [t["name"] for t in silver["tables"]] == sorted(
        silver_table(settings, c).removeprefix(f"{settings.iceberg.namespaces.silver}.") for c in SHIPPED
    )


@pytest.mark.parametrize("contract", SHIPPED, ids=lambda c: c.name)
def test_columns_docs_and_tests_come_from_the_contract(contract: Contract) -> None:
    table = tables(render(SHIPPED))[contract.table_stem]
    fields = contract.record.fields
    assert table["description"] == contract.record.doc
    assert [c["name"] for c in table["columns"]] == [f.name for f in fields] + METADATA
    assert [c["description"] for c in table["columns"]] == [f.doc for f in fields] + [
        d for _, d in SILVER_METADATA_DOCS
    ]
    event_id = {contract.meta.event_id} if contract.meta.event_id else set()
    assert columns_with(table, "not_null") == {f.name for f in fields if f.required} | event_id
    key = {contract.meta.key} if contract.meta.kind == "reference" else set()
    assert columns_with(table, "unique") == event_id | key
    enums = {f.name: list(f.type.symbols) for f in fields if isinstance(f.type, ir.EnumT)}
    assert {
        column["name"]: entry["accepted_values"]["arguments"]["values"]
        for column in table["columns"]
        for entry in column.get("data_tests", [])
        if isinstance(entry, dict) and "accepted_values" in entry
    } == enums


def test_the_shop_has_enums_event_ids_and_reference_tables_without_one() -> None:
    all_tables = tables(render(SHIPPED))
    assert columns_with(all_tables["commerce__payment_processed"], "accepted_values") == {"status", "method"}
    assert columns_with(all_tables["commerce__page_view"], "unique") == {"event_id"}
    assert columns_with(all_tables["commerce__product"], "unique") == {"product_id"}


def test_reference_data_has_a_versions_table_with_the_same_columns_and_no_unique_key() -> None:
    text = render(SHIPPED, 1, 2, VERSIONS_SUFFIX, command="c")
    all_tables = tables(text)
    settings = PlatformSettings()
    reference = [c for c in SHIPPED if c.meta.kind == "reference"]
    assert {c.name for c in reference} == {"product", "customer"}
    assert sorted(all_tables) == sorted(
        [t.removeprefix("silver.") for t in (silver_table(settings, c) for c in SHIPPED)]
        + [versions_table(settings, c).removeprefix("silver.") for c in reference]
    )
    for contract in reference:
        latest, versions = all_tables[contract.table_stem], all_tables[contract.table_stem + VERSIONS_SUFFIX]
        assert versions["columns"] == [
            {k: v for k, v in column.items() if k != "data_tests"}
            | ({"data_tests": [t for t in column["data_tests"] if t != "unique"]} if "data_tests" in column else {})
            for column in latest["columns"]
        ]
        assert columns_with(versions, "unique") == set()
        assert versions["description"].startswith(f"Every version of {contract.name}")
    with pytest.raises(ValueError, match="not reference data"):
        dbt_source_table(find_contract(SHIPPED, "order_placed"), SILVER_METADATA_DOCS, VERSIONS_SUFFIX)


def test_freshness_is_measured_on_the_ingestion_column_with_the_given_thresholds() -> None:
    config = source(render(SHIPPED, warn=3, error=9))["config"]
    assert config == {
        "loaded_at_field": "_ingested_at",
        "freshness": {"warn_after": {"count": 3, "period": "hour"}, "error_after": {"count": 9, "period": "hour"}},
    }


def test_output_is_deterministic_and_headed_by_its_command() -> None:
    text = render(SHIPPED)
    assert text == render(list(reversed(SHIPPED)))
    assert text.splitlines()[0] == (
        "# Generated from the data contracts (schemas/avro) by `dp transform sources`: do not edit."
    )


def test_order_placed_golden_entries() -> None:
    table = tables(render(SHIPPED))["commerce__order_placed"]
    columns = {c["name"]: c for c in table["columns"]}
    assert table["description"] == "A shopper placed an order at checkout."
    assert columns["event_id"] == {
        "name": "event_id",
        "description": "Unique id of this event; duplicates of one event share it.",
        "data_tests": ["unique", "not_null"],
    }
    assert columns["total"] == {
        "name": "total",
        "description": "subtotal + shipping + tax: the amount to pay.",
        "data_tests": ["not_null"],
    }
    assert columns["_ingested_at"] == {"name": "_ingested_at", "description": "When Bronze landed the record"}
    assert table["columns"][-1]["name"] == "_batch_id"


def test_the_cli_form_takes_namespace_and_thresholds_from_the_settings() -> None:
    settings = PlatformSettings(
        transform=TransformSettings(source_freshness_warn_hours=4, source_freshness_error_hours=24)
    )
    order_placed = find_contract(SHIPPED, "order_placed")
    text = dbt_sources([order_placed], settings, "dp contracts show order_placed --as dbt-source")
    silver = source(text)
    assert [t["name"] for t in silver["tables"]] == ["commerce__order_placed"]
    assert silver["config"]["freshness"]["error_after"]["count"] == 24
    assert "`dp contracts show order_placed --as dbt-source`" in text.splitlines()[0]


@pytest.mark.parametrize(("warn", "error"), [(6, 6), (6, 1), (0, 6)])
def test_freshness_thresholds_must_be_positive_and_error_after_warn(warn: int, error: int) -> None:
    with pytest.raises(ValidationError):
        TransformSettings(source_freshness_warn_hours=warn, source_freshness_error_hours=error)


def test_with_a_domain_tables_are_named_by_entity_and_read_that_domains_silver_tables() -> None:
    product = find_contract(SHIPPED, "product")
    domain = "{{ env_var('DTHEINFRA_DBT_DOMAIN', 'commerce') }}"
    text = render([product], versions_suffix=VERSIONS_SUFFIX, domain=domain)
    assert {name: t["identifier"] for name, t in tables(text).items()} == {
        "product": f"{domain}__product",
        f"product{VERSIONS_SUFFIX}": f"{domain}__product{VERSIONS_SUFFIX}",
    }
    other = Contract(name=product.name, domain="other", path=product.path, schema=product.schema)
    with pytest.raises(ValueError, match="share the name 'product'"):
        render([product, other], domain=domain)


def test_a_required_field_an_evolution_added_with_its_default_is_null_checked_as_a_warning() -> None:
    """Silver holds null in that column for the rows written before the field existed: a failing not_null would
    stop every build (a record one layer accepted stops a later one), so it only warns."""
    import copy

    product = find_contract(SHIPPED, "product")
    schema = copy.deepcopy(product.schema)
    top = max(f["field-id"] for f in schema["fields"])
    schema["fields"].append({"name": "size", "type": "string", "default": "M", "doc": "Size.", "field-id": top + 1})
    evolved = Contract(name=product.name, domain=product.domain, path=product.path, schema=schema)
    table = tables(render([evolved]))[evolved.table_stem]
    tests = {column["name"]: column.get("data_tests", []) for column in table["columns"]}
    assert tests["size"] == [{"not_null": {"config": {"severity": "warn"}}}]
    required = [f.name for f in product.record.fields if f.required and f.name != product.meta.key]
    assert required and all(tests[name] == ["not_null"] for name in required)
