{#-
  A rerun commits nothing: when an incremental model's new rows (the temporary relation dbt-spark builds) are empty,
  no MERGE / INSERT runs at all. Iceberg commits a snapshot for every MERGE, even one whose source is empty, so
  without this guard each rerun would add an empty OVERWRITE snapshot to every mart.
  Overrides dbt-spark's macro of the same name (the root project's macros win) and delegates to it otherwise.
-#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
  {%- set probe = run_query('select 1 from ' ~ source ~ ' limit 1') if execute else none -%}
  {%- if probe is not none and probe.rows | length == 0 -%}
    select 'no new rows for {{ target }}' as nothing_to_commit
  {%- else -%}
    {{ dbt_spark.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) }}
  {%- endif -%}
{% endmacro %}
