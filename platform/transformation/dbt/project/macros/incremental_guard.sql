{#-
  A rerun commits nothing: when an incremental model's new rows (the temporary relation dbt-spark builds) are empty,
  no MERGE / INSERT runs at all. Iceberg commits a snapshot for every MERGE, even one whose source is empty, so
  without this guard each rerun would add an empty OVERWRITE snapshot to every mart.
  Overrides dbt-spark's macro of the same name (the root project's macros win; the adapter's own cannot be called
  from here, its package namespace is not in scope) and builds the same SQL as it for the strategies this project
  uses: merge, insert_overwrite, append.
-#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
  {%- set probe = run_query('select 1 from ' ~ source ~ ' limit 1') if execute else none -%}
  {%- if probe is not none and probe.rows | length == 0 -%}
    select 'no new rows for {{ target }}' as nothing_to_commit
  {%- elif strategy == 'merge' -%}
    {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
  {%- elif strategy == 'insert_overwrite' -%}
    {{ get_insert_overwrite_sql(source, target, existing) }}
  {%- elif strategy == 'append' -%}
    {{ get_insert_into_sql(source, target) }}
  {%- else -%}
    {%- do exceptions.raise_compiler_error(
        'incremental strategy ' ~ strategy ~ ' is not one this project supports: merge, insert_overwrite, append'
    ) -%}
  {%- endif -%}
{% endmacro %}
