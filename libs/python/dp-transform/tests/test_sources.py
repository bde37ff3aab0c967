"""The dbt project's sources file: generated from the contracts, deterministic, what the project's models read, and
`dp transform sources --check` failing, with the command to run, as soon as the file is stale."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from dp_contracts.model import Contract, contracts_dir, load_contracts
from dp_core.cli import CliContext
from dp_core.cli.main import main
from dp_core.config import PlatformSettings, find_repo_root, load_settings
from dp_transform.errors import SourcesStaleError
from dp_transform.sources import SOURCES_COMMAND, SOURCES_FILE, check_sources, render_sources

REPO = find_repo_root(Path(__file__))
MODELS = REPO / "platform" / "transformation" / "dbt" / "project" / "models"


@pytest.fixture(scope="module")
def contracts() -> list[Contract]:
    return load_contracts(contracts_dir(REPO))


@pytest.fixture(scope="module")
def settings() -> PlatformSettings:
    return load_settings(REPO / "config", {}).settings


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch checkout: the repo's config/ and contracts, and its dbt sources file."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "schemas" / "avro", root / "schemas" / "avro")
    (root / SOURCES_FILE).parent.mkdir(parents=True)
    shutil.copyfile(REPO / SOURCES_FILE, root / SOURCES_FILE)
    return root


def dp(cwd: Path, *args: str, env: dict[str, str] | None = None) -> int:
    return main(list(args), context=CliContext(environ=env or {}, cwd=cwd))


def source_tables(text: str) -> dict[str, dict[str, object]]:
    document = yaml.safe_load(text)
    [source] = document["sources"]
    assert source["name"] == "silver"
    return {table["name"]: table for table in source["tables"]}


def test_the_committed_file_is_what_the_contracts_give(contracts: list[Contract], settings: PlatformSettings) -> None:
    assert (REPO / SOURCES_FILE).read_text(encoding="utf-8") == render_sources(contracts, settings)


def test_the_file_says_it_is_generated_and_by_which_command(
    contracts: list[Contract], settings: PlatformSettings
) -> None:
    first = render_sources(contracts, settings).splitlines()[0]
    assert first == f"# Generated from the data contracts (schemas/avro) by `{SOURCES_COMMAND}`: do not edit."
    assert SOURCES_COMMAND == "dp transform sources"


def test_one_table_per_contract_named_like_silver_whatever_the_order(
    contracts: list[Contract], settings: PlatformSettings
) -> None:
    text = render_sources(contracts, settings)
    assert render_sources(list(reversed(contracts)), settings) == text
    tables = source_tables(text)
    versions = [f"{c.name}__versions" for c in contracts if c.meta.kind == "reference"]
    assert list(tables) == sorted([c.name for c in contracts] + versions)
    assert versions  # the shop's products and customers: every version, for the type-2 dimensions
    # named by entity, each reads the Silver table of the run's domain (dp transform --domain), demo.domain by default
    domain = f"{{{{ env_var('DTHEINFRA_DBT_DOMAIN', '{settings.demo.domain}') }}}}"
    assert {name: table["identifier"] for name, table in tables.items()} == {
        name: f"{domain}__{name}" for name in tables
    }
    # the namespace of the run (dp transform sets the variable), the configured one by default
    schema = f"{{{{ env_var('DTHEINFRA_DBT_SILVER_NAMESPACE', '{settings.iceberg.namespaces.silver}') }}}}"
    assert yaml.safe_load(text)["sources"][0]["schema"] == schema
    order = tables["order_placed"]
    columns = order["columns"]
    assert isinstance(columns, list)
    assert columns[0] == {
        "name": "event_id",
        "description": "Unique id of this event; duplicates of one event share it.",
        "data_tests": ["unique", "not_null"],
    }


def test_every_silver_table_the_models_read_is_a_generated_source(
    contracts: list[Contract], settings: PlatformSettings
) -> None:
    tables = source_tables(render_sources(contracts, settings))
    read = {
        entity + ("__versions" if versions else "")
        for sql in MODELS.rglob("*.sql")
        for entity, versions in re.findall(
            r"silver_source\(\s*'([a-z0-9_]+)'\s*(,\s*versions=true)?\s*\)", sql.read_text(encoding="utf-8")
        )
    }
    assert {"order_placed", "product__versions"} <= read
    assert read <= set(tables)
    direct = [
        sql.name
        for sql in MODELS.rglob("*.sql")
        if re.search(r"\bsource\(\s*'(?!speed')", sql.read_text(encoding="utf-8"))
    ]
    assert direct == []  # models read Silver through the domain's silver_source(), never a fixed domain
    # the speed layer's tables (the reconciliation's) are named by the run's domain too
    speed = yaml.safe_load((MODELS / "staging" / "_speed_sources.yml").read_text(encoding="utf-8"))["sources"]
    identifiers = [t["identifier"] for t in speed[0]["tables"]]
    assert identifiers and all(i.startswith("{{ env_var('DTHEINFRA_DBT_DOMAIN', 'commerce') }}__") for i in identifiers)


def test_sources_writes_the_file_once_then_leaves_it(checkout: Path, capfd: pytest.CaptureFixture[str]) -> None:
    path = checkout / SOURCES_FILE
    path.unlink()
    assert dp(checkout, "transform", "sources") == 0
    assert capfd.readouterr().out == f"{SOURCES_FILE} written\n"
    assert path.read_text(encoding="utf-8") == (REPO / SOURCES_FILE).read_text(encoding="utf-8")
    modified = path.stat().st_mtime_ns
    assert dp(checkout, "transform", "sources") == 0
    assert capfd.readouterr().out == f"{SOURCES_FILE} unchanged\n"
    assert path.stat().st_mtime_ns == modified


def test_check_passes_on_a_fresh_file(checkout: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert dp(checkout, "transform", "sources", "--check") == 0
    assert capfd.readouterr().out == f"{SOURCES_FILE} is up to date\n"


def test_check_fails_on_an_edited_file_names_the_command_and_leaves_the_file(
    checkout: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = checkout / SOURCES_FILE
    edited = path.read_text(encoding="utf-8").replace("period: hour", "period: day", 1)
    path.write_text(edited, encoding="utf-8")
    assert dp(checkout, "transform", "sources", "--check") == 1
    err = capfd.readouterr().err
    assert f"--- {SOURCES_FILE} (on disk)\n+++ {SOURCES_FILE} (generated)\n" in err
    assert "-        period: day\n+        period: hour\n" in err
    assert err.endswith(
        f"Error: {SOURCES_FILE} is stale (the contracts in schemas/avro, or the settings it is generated from, "
        "changed since it was written): run `dp transform sources` and commit the result\n"
    )
    assert path.read_text(encoding="utf-8") == edited
    assert dp(checkout, "transform", "sources") == 0
    assert dp(checkout, "transform", "sources", "--check") == 0


def test_check_fails_when_a_contract_or_a_threshold_changes(checkout: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert dp(checkout, "transform", "sources", "--check", env={"DP_TRANSFORM_SOURCE_FRESHNESS_WARN_HOURS": "2"}) == 1
    assert "+        count: 2\n" in capfd.readouterr().err
    contract = checkout / "schemas" / "avro" / "commerce" / "page_view.avsc"
    contract.write_text(contract.read_text(encoding="utf-8").replace("Unique id of this event", "Id of the event"))
    assert dp(checkout, "transform", "sources", "--check") == 1
    assert "+      description: Id of the event;" in capfd.readouterr().err


def test_check_fails_on_a_missing_file(checkout: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (checkout / SOURCES_FILE).unlink()
    assert dp(checkout, "transform", "sources", "--check") == 1
    assert capfd.readouterr().err == f"Error: {SOURCES_FILE} is missing: run `dp transform sources` to generate it\n"
    assert not (checkout / SOURCES_FILE).exists()


def test_a_long_difference_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "_sources.yml"
    path.write_text("".join(f"line {i}\n" for i in range(100)), encoding="utf-8")
    with pytest.raises(SourcesStaleError) as exc:
        check_sources(path, "", "_sources.yml")
    assert len(exc.value.diff) == 41
    assert exc.value.diff[-1] == "... (63 more lines)"
    assert exc.value.path == "_sources.yml"
