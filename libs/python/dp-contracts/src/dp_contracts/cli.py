"""`dp contracts list|show|check|register`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dp_contracts.compiler import to_flink_columns, to_iceberg, to_json_schema, to_spark
from dp_contracts.dbt import to_dbt_sources
from dp_contracts.errors import ContractError
from dp_contracts.evolution import Change, check_change
from dp_contracts.gate import GateResult, git_baseline, git_ref_exists, run_gate
from dp_contracts.lint import Violation
from dp_contracts.model import Contract, contracts_dir, find_contract, load_contracts
from dp_contracts.registry import latest_text, register, registry_client, registry_says_compatible
from dp_core.cli import CliContext, pass_cli
from dp_core.config import PlatformSettings
from dp_lakehouse.tables import SILVER_INGESTED_AT, SILVER_METADATA_DOCS, VERSIONS_SUFFIX

FORMATS = ("avro", "iceberg", "spark", "flink", "json-schema", "dbt-source")


def contracts_root(cli: CliContext) -> Path:
    return contracts_dir(cli.load().repo_root)


def _contracts(cli: CliContext) -> list[Contract]:
    contracts = load_contracts(contracts_root(cli))
    if not contracts:
        raise ContractError(f"no contracts under {contracts_root(cli)}")
    return contracts


@click.group("contracts")
def contracts_group() -> None:
    """Data contracts: the Avro schemas in schemas/avro/<domain>/<name>.avsc and what derives from them."""


def render(contract: Contract, fmt: str) -> str:
    """One contract in one of the FORMATS."""
    record = contract.record
    if fmt == "avro":
        return json.dumps(contract.schema, indent=2)
    if fmt == "iceberg":
        return str(to_iceberg(record, (contract.meta.key,)))
    if fmt == "spark":
        return json.dumps(to_spark(record), indent=2)
    if fmt == "flink":
        return ",\n".join(to_flink_columns(record))
    return json.dumps(to_json_schema(record, title=contract.name), indent=2)


def dbt_sources(
    contracts: list[Contract],
    settings: PlatformSettings,
    command: str,
    schema: str | None = None,
    domain: str | None = None,
) -> str:
    """The dbt ``sources:`` document of ``contracts``' Silver tables, laid out as the lakehouse lays them out;
    ``schema``: the source's schema as written (default: ``iceberg.namespaces.silver``); ``domain``: see
    :func:`dp_contracts.dbt.to_dbt_sources` (default: tables named as Silver names them)."""
    return to_dbt_sources(
        contracts,
        schema=schema if schema is not None else settings.iceberg.namespaces.silver,
        metadata_columns=SILVER_METADATA_DOCS,
        loaded_at_field=SILVER_INGESTED_AT,
        warn_after_hours=settings.transform.source_freshness_warn_hours,
        error_after_hours=settings.transform.source_freshness_error_hours,
        command=command,
        versions_suffix=VERSIONS_SUFFIX,
        domain=domain,
    )


@contracts_group.command("show")
@click.argument("name")
@click.option("--as", "fmt", type=click.Choice(FORMATS), default="avro", show_default=True, help="What to print.")
@pass_cli
def show(cli: CliContext, name: str, fmt: str) -> None:
    """Print contract NAME (e.g. order_placed) as Avro, or compiled to Iceberg, Spark, Flink SQL, JSON Schema or the
    dbt source of its Silver table."""
    contract = find_contract(_contracts(cli), name)
    if fmt == "dbt-source":
        click.echo(
            dbt_sources([contract], cli.settings, f"dp contracts show {contract.name} --as dbt-source"), nl=False
        )
        return
    click.echo(render(contract, fmt))


@contracts_group.command("list")
@pass_cli
def list_(cli: CliContext) -> None:
    """One line per contract: name, kind, topic, key, event time, owner."""
    rows = [("NAME", "KIND", "TOPIC", "KEY", "EVENT TIME", "COMPATIBILITY")]
    for c in _contracts(cli):
        rows.append((c.name, c.meta.kind, c.topic, c.meta.key, c.meta.event_time, c.meta.compatibility.value))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _report(result: GateResult, against: str) -> None:
    for violation in result.violations:
        click.echo(f"  {violation}", err=True)
    summary = f"{result.checked} contract(s) linted"
    if against:
        summary += f"; against {against}: {len(result.changed)} changed, {len(result.new)} new"
    if result.violations:
        raise ContractError(f"{summary}; {len(result.violations)} violation(s)")
    click.echo(f"{summary}; no violations")


@contracts_group.command("check")
@click.option(
    "--against",
    default="git:HEAD",
    show_default=True,
    help="Baseline of the changed contracts: git:<REF> (a commit, branch or tag) or registry.",
)
@click.option("--lint-only", is_flag=True, help="Only lint; compare with no baseline.")
@pass_cli
def check(cli: CliContext, against: str, lint_only: bool) -> None:
    """Lint every contract and check every changed one: compatibility under its mode, legal Iceberg evolution.

    Each violation is printed with the contract, the field path and the rule; the exit code is non-zero if any.
    """
    contracts = _contracts(cli)
    if lint_only:
        _report(run_gate(contracts, None), "")
        return
    if against == "registry":
        _check_against_registry(cli, contracts)
        return
    if not against.startswith("git:"):
        raise click.BadParameter("use git:<REF> or registry", param_hint="--against")
    ref = against[4:]
    repo = cli.load().repo_root
    if not git_ref_exists(repo, ref):
        raise ContractError(f"--against {against}: no such git revision in {repo}")
    _report(run_gate(contracts, git_baseline(repo, ref)), against)


def _check_against_registry(cli: CliContext, contracts: list[Contract]) -> None:
    settings = cli.settings
    client, url = registry_client(settings), settings.registry.url

    def baseline(contract: Contract) -> Contract | None:
        text = latest_text(client, url, contract.subject)
        if text is None:
            return None
        return Contract(name=contract.name, domain=contract.domain, path=contract.path, schema=json.loads(text))

    result = run_gate(contracts, baseline)
    extra: list[Violation] = []
    for name in result.changed:
        contract = find_contract(contracts, name)
        if not registry_says_compatible(client, url, contract) and not any(
            v.contract == name and v.rule.startswith("compatibility") for v in result.violations
        ):
            extra.append(Violation(name, "(record)", "registry", "the registry reports it incompatible"))
    _report(GateResult(result.checked, result.changed, result.new, [*result.violations, *extra]), "registry")


@contracts_group.command("register")
@pass_cli
def register_cmd(cli: CliContext) -> None:
    """Register every contract under <topic>-value with its compatibility mode (idempotent)."""
    settings = cli.settings
    client, url = registry_client(settings), settings.registry.url
    contracts = _contracts(cli)
    failed = [v for c in contracts for v in run_gate([c], None).violations]
    if failed:
        for violation in failed:
            click.echo(f"  {violation}", err=True)
        raise ContractError(f"{len(failed)} lint violation(s): fix them before registering")
    for contract in contracts:
        reg = register(client, url, contract)
        click.echo(f"{reg.subject:<40} id {reg.schema_id:<5} version {reg.version}")


__all__ = ["Change", "check_change", "contracts_group", "dbt_sources", "render"]
