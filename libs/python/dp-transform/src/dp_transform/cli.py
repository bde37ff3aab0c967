"""``dp transform build|run|test|freshness|status|docs|sources|dbt``: Gold in dbt from the main environment.

dbt runs in the dbt unit's own environment (``.runtime/venvs/dbt``) as a process, on a ``profiles.yml`` generated
from ``transform.*`` into ``.runtime/dbt``; its output is dbt's own, not captured. Errors reach the user through
``dp``'s one translator: a missing dbt environment says ``make install``; a dbt failure exits with dbt's code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from dp_contracts.model import contracts_dir, load_contracts
from dp_core.cli import CliContext, pass_cli
from dp_core.config.models import TransformSettings
from dp_transform.errors import DbtFailedError, GoldStaleError, SourcesStaleError
from dp_transform.invocation import DateRange, Selection, dbt_args
from dp_transform.runner import DbtPaths, checked_domain, run_on_settings
from dp_transform.sources import SOURCES_FILE, check_sources, render_sources, write_sources

F = TypeVar("F", bound=Callable[..., Any])


@click.group("transform")
def transform_group() -> None:
    """Gold in dbt (platform/transformation/dbt): the marts built from Silver by Spark on the shared Iceberg catalog.

    dbt runs in its own environment (.runtime/venvs/dbt, made by `make install`) on a profiles.yml generated from
    transform.* into .runtime/dbt, where dbt's target/ and logs/ go too; no secret is written to disk. dbt's output
    is shown as dbt prints it; when dbt fails, the command exits with dbt's exit code.
    """


def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


_ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])
_select = click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    metavar="SELECTOR",
    help="Only these nodes, in dbt's selection syntax (fct_orders, +fct_orders, tag:daily, source:silver+); "
    "repeatable, the union is taken.",
)
_exclude = click.option("--exclude", multiple=True, metavar="SELECTOR", help="Leave these nodes out; repeatable.")
_full_refresh = click.option(
    "--full-refresh", is_flag=True, help="Rebuild incremental models from scratch instead of merging new rows."
)
_from = click.option(
    "--from",
    "from_date",
    type=_ISO_DATE,
    metavar="DATE",
    help="First day (YYYY-MM-DD) of a range to recompute; with --to. Passed to dbt as the project variables "
    "from_date and to_date (--vars): the incremental marts recompute those days besides the new ones.",
)
_to = click.option("--to", "to_date", type=_ISO_DATE, metavar="DATE", help="Last day of the range (included).")
_target = click.option(
    "--target",
    type=click.Choice(["session", "thrift"]),
    help="Where dbt runs its SQL, overriding transform.target: session (Spark embedded in dbt's process) or thrift "
    "(the Spark Thrift server of transform.thrift.*).",
)
_namespace = click.option(
    "--namespace",
    metavar="NS",
    help="Iceberg namespace the models are written to, overriding transform.namespace "
    "(default: iceberg.namespaces.gold).",
)
_domain = click.option(
    "--domain", help="Contract domain whose Silver tables (<domain>__<name>) the models read (default: demo.domain)."
)
_connection = _options(_target, _namespace, _domain)


def _transform_settings(base: TransformSettings, target: str | None, namespace: str | None) -> TransformSettings:
    """``transform.*`` with the command line's ``--target`` and ``--namespace`` over it."""
    overrides = {key: value for key, value in (("target", target), ("namespace", namespace)) if value is not None}
    try:
        return TransformSettings.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:  # only --namespace can be invalid: --target is a choice
        reason = exc.errors()[0]["msg"]
        raise click.BadParameter(f"{namespace!r}: {reason}", param_hint="'--namespace'") from None


def _date_range(from_date: dt.datetime | None, to_date: dt.datetime | None) -> DateRange | None:
    if from_date is None and to_date is None:
        return None
    if from_date is None or to_date is None:
        raise click.UsageError("--from and --to go together: give both days of the range")
    try:
        return DateRange(from_date.date(), to_date.date())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--from' / '--to'") from None


def _dbt(
    cli: CliContext,
    command: Sequence[str],
    args: Sequence[str],
    target: str | None,
    namespace: str | None,
    domain: str | None,
) -> None:
    """Run dbt with ``args`` on the profile of the settings and options; raise when it fails."""
    loaded = cli.load()
    DbtPaths.of(loaded).require_dbt()
    transform = _transform_settings(loaded.settings.transform, target, namespace)
    code = run_on_settings(loaded, transform, args, cli.environ, checked_domain(loaded, domain))
    if code != 0:
        raise DbtFailedError(" ".join(command), code)


@transform_group.command("build")
@_options(_select, _exclude, _full_refresh, _from, _to)
@_connection
@pass_cli
def build_cmd(
    cli: CliContext,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    from_date: dt.datetime | None,
    to_date: dt.datetime | None,
    target: str | None,
    namespace: str | None,
    domain: str | None,
) -> None:
    """Build the models and test them (dbt build).

    `dbt build`: snapshots and models in dependency order, each followed by its tests; a failing test skips what
    depends on it.
    """
    dates = _date_range(from_date, to_date)
    args = dbt_args(["build"], Selection(select, exclude), full_refresh=full_refresh, dates=dates)
    _dbt(cli, ["build"], args, target, namespace, domain)


@transform_group.command("run")
@_options(_select, _exclude, _full_refresh, _from, _to)
@_connection
@pass_cli
def run_cmd(
    cli: CliContext,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    full_refresh: bool,
    from_date: dt.datetime | None,
    to_date: dt.datetime | None,
    target: str | None,
    namespace: str | None,
    domain: str | None,
) -> None:
    """Build the models without testing them (dbt run)."""
    dates = _date_range(from_date, to_date)
    args = dbt_args(["run"], Selection(select, exclude), full_refresh=full_refresh, dates=dates)
    _dbt(cli, ["run"], args, target, namespace, domain)


@transform_group.command("test")
@_options(_select, _exclude)
@_connection
@pass_cli
def test_cmd(
    cli: CliContext,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    target: str | None,
    namespace: str | None,
    domain: str | None,
) -> None:
    """Test what is built (dbt test).

    `dbt test`: the data tests of the sources and models, and the models' unit tests.
    """
    _dbt(cli, ["test"], dbt_args(["test"], Selection(select, exclude)), target, namespace, domain)


@transform_group.command("freshness")
@_options(_select, _exclude)
@_connection
@pass_cli
def freshness_cmd(
    cli: CliContext,
    select: tuple[str, ...],
    exclude: tuple[str, ...],
    target: str | None,
    namespace: str | None,
    domain: str | None,
) -> None:
    """How fresh each Silver source is (dbt source freshness).

    `dbt source freshness` on each source's newest _ingested_at: it warns after transform.source_freshness_warn_hours
    and fails after transform.source_freshness_error_hours. Select sources as source:silver.<table>.
    """
    command = ["source", "freshness"]
    _dbt(cli, command, dbt_args(command, Selection(select, exclude)), target, namespace, domain)


@transform_group.command("status")
@_namespace
@click.option(
    "--max-lag-s", type=click.FloatRange(min=0), metavar="SECONDS",
    help="Exit 1 when a mart is missing or its watermark trails now by more than this: Gold's freshness SLA.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per mart.")
@pass_cli
def status_cmd(cli: CliContext, namespace: str | None, max_lag_s: float | None, as_json: bool) -> None:
    """Each Gold mart's current snapshot and watermark, as the catalog has them (what the Data API serves).

    The marts are the project's models/marts; the watermark is the dp.watermark property dbt sets after each build
    (event time up to which the mart is final).
    """
    import json

    from dp_transform.status import mart_states, stale_marts

    loaded = cli.load()
    ns = namespace or loaded.settings.transform.namespace or loaded.settings.iceberg.namespaces.gold
    states = mart_states(loaded, ns, DbtPaths.of(loaded).mart_names())
    now = dt.datetime.now(dt.UTC)
    for state in states:
        if as_json:
            click.echo(json.dumps(state.as_dict()))
        else:
            click.echo(
                f"{state.table:<40} snapshot {state.snapshot_id or '-':<20} committed {state.committed_at or '-'}  "
                f"watermark {state.watermark or '-'}"
            )
    if max_lag_s is not None:
        stale = stale_marts(states, now, max_lag_s)
        if stale:
            raise GoldStaleError(f"Gold is staler than {max_lag_s:.0f} s: " + "; ".join(stale))
        click.echo(f"every mart's watermark is within {max_lag_s:.0f} s of now", err=True)


@transform_group.command("docs")
@_connection
@pass_cli
def docs_cmd(cli: CliContext, target: str | None, namespace: str | None, domain: str | None) -> None:
    """Write dbt's docs site into the runtime folder.

    `dbt docs generate` with its target path <local.runtime_dir>/dbt/docs (index.html, manifest.json,
    catalog.json); prints where the site is. The catalog is read from the built tables, so this needs the stack.
    """
    command = ["docs", "generate"]
    docs_dir = DbtPaths.of(cli.load()).docs_dir
    _dbt(cli, command, dbt_args(command, extra=["--target-path", str(docs_dir)]), target, namespace, domain)
    click.echo(f"dbt's docs site: {docs_dir / 'index.html'}")


@transform_group.command("sources")
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; fail (exit 1, naming the command to run) if the file differs from what the contracts give.",
)
@pass_cli
def sources_cmd(cli: CliContext, check: bool) -> None:
    """Write the dbt sources from the contracts.

    Writes platform/transformation/dbt/project/models/staging/_sources.yml from schemas/avro: one dbt source
    `silver` (its schema: the run's iceberg.namespaces.silver, which dp transform passes to dbt as
    DTHEINFRA_DBT_SILVER_NAMESPACE), one table per contract named by its entity (order_placed) that reads the Silver
    table <domain>__<name> of the run's domain (DTHEINFRA_DBT_DOMAIN, from --domain), with the columns, their docs and
    data tests, and freshness thresholds from transform.source_freshness_*: what `dp contracts show NAME --as
    dbt-source` prints, for every contract, but for the names (it names the table as Silver does). Needs neither
    dbt nor the stack; `make lint` runs it with --check.
    """
    loaded = cli.load()
    path = loaded.repo_root / SOURCES_FILE
    text = render_sources(load_contracts(contracts_dir(loaded.repo_root)), loaded.settings)
    if check:
        try:
            check_sources(path, text, str(SOURCES_FILE))
        except SourcesStaleError as exc:
            for line in exc.diff:
                click.echo(line, err=True)
            raise
        click.echo(f"{SOURCES_FILE} is up to date")
        return
    changed = write_sources(path, text)
    click.echo(f"{SOURCES_FILE} {'written' if changed else 'unchanged'}")


@transform_group.command("dbt", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@_connection
@click.argument("dbt_args_", metavar="DBT_ARGS...", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_cli
def dbt_cmd(
    cli: CliContext, target: str | None, namespace: str | None, domain: str | None, dbt_args_: tuple[str, ...]
) -> None:
    """Any dbt command on the generated profile.

    For example `dp transform dbt parse`, or `dp transform dbt --target thrift debug`: this command's options
    first, then dbt's command and its own options, passed to dbt unchanged.
    """
    _dbt(cli, dbt_args_[:1], dbt_args_, target, namespace, domain)
