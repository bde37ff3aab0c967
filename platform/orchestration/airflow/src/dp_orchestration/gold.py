"""Gold's dbt project as Airflow tasks (astronomer-cosmos): one task per model that builds it and runs its tests
(``dbt build --select <model>``: a failing test fails the task, and what depends on the model does not run).

Cosmos renders the task group from the project's parsed manifest (fast to parse, no dbt run at DAG-parse time) and
starts ``dbt`` through ``bin/dbt``: the platform's ``dp transform dbt``, which writes the profile from the platform
settings, passes the secrets in the environment and runs dbt from its own virtualenv. Each task's dbt writes its
``target/`` into the task's copy of the project, so tasks running at once never share one.
"""

from __future__ import annotations

from typing import Any

from dp_orchestration.platform import DBT_PROFILE, DBT_PROJECT, dbt_manifest, dbt_profiles, dbt_shim, settings


class ManifestMissingError(RuntimeError):
    """The parsed dbt project the DAG renders Gold from is not there yet."""


def gold_task_group(group_id: str = "gold", **kwargs: Any) -> Any:
    """A cosmos ``DbtTaskGroup`` of the Gold project on the configured target (``transform.target``)."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

    manifest = dbt_manifest()
    if not manifest.is_file():
        raise ManifestMissingError(
            f"no parsed dbt project at {manifest}: run `dp transform dbt parse --target-path {manifest.parent}` "
            "(the local stack's DAG processor does when it starts)"
        )
    profiles = dbt_profiles()
    if not profiles.is_file():  # dp transform rewrites it before each dbt command; cosmos wants it to exist
        raise ManifestMissingError(f"no dbt profile at {profiles}: run `dp transform dbt parse` once")
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT, manifest_path=manifest, project_name="dtheinfra_gold"
        ),
        profile_config=ProfileConfig(
            profile_name=DBT_PROFILE, target_name=settings().transform.target, profiles_yml_filepath=profiles
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=str(dbt_shim()),
            # a test over two models (fct_order_lines -> fct_orders) runs with the later one, once both exist
            test_indirect_selection=TestIndirectSelection.BUILDABLE,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,  # model and its tests in one task: half the dbt starts
            emit_datasets=False,  # the publish task updates Gold's assets once the whole build is in
            normalize_task_id=lambda node: node.name,  # gold.fct_orders: the task is the model (built and tested)
        ),
        operator_args={"install_deps": False, "dbt_cmd_flags": ["--target-path", "target"]},
        **kwargs,
    )
