{#-
  A mart's progress in its Iceberg table properties, in the format Gold's readers expect (the Data API's
  time boundary) -- run as every mart's post-hook (dbt_project.yml):

  dp.silver.batch-ids  JSON: the newest _batch_id folded in per Silver table (the mart's cursors)
  dp.silver.batch-id   the highest of them
  dp.watermark         the event time up to which the mart is complete (ISO 8601, UTC, microseconds): the minimum
                       over its Silver sources of the newest occurred_at among the rows folded in, minus the allowed
                       lateness (DTHEINFRA_DBT_ALLOWED_LATENESS_S, batch.gold.allowed_lateness_s); it never moves back, and
                       while a source has nothing folded in, the previous watermark stands
  dp.job               dbt

  The sources are the mart's cursor columns, silver_<source>_batch_id. Properties that would not change are not
  written, so a rerun with nothing new commits nothing, not even table metadata.
-#}
{% macro record_progress() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set entities = {
        'orders': 'order_placed',
        'payments': 'payment_processed',
        'page_views': 'page_view',
        'cart_updates': 'cart_updated',
    } -%}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- set sources = [] -%}
    {%- for source, entity in entities.items() if ('silver_' ~ source ~ '_batch_id') in names -%}
        {%- do sources.append((source, entity)) -%}
    {%- endfor -%}
    {%- if sources | length == 0 -%}{{ return('') }}{%- endif -%}

    {%- set cursor_sql -%}
        select {% for source, _ in sources -%}
            coalesce(max(silver_{{ source }}_batch_id), -1){{ ', ' if not loop.last }}
        {%- endfor %} from {{ this }}
    {%- endset -%}
    {%- set cursors = run_query(cursor_sql).rows[0] -%}

    {%- set silver = env_var('DTHEINFRA_DBT_SILVER_NAMESPACE', 'silver') -%}
    {%- set domain = env_var('DTHEINFRA_DBT_DOMAIN', 'commerce') -%}
    {%- set lateness = env_var('DTHEINFRA_DBT_ALLOWED_LATENESS_S', '3600') | int -%}
    {%- set tables = [] -%}
    {%- set batch_ids = {} -%}
    {%- for source, entity in sources -%}
        {%- set table = silver ~ '.' ~ domain ~ '__' ~ entity -%}
        {%- do tables.append(table) -%}
        {%- do batch_ids.update({table: cursors[loop.index0] | int}) -%}
    {%- endfor -%}
    {%- set times_sql -%}
        select
            case when {% for _ in sources %}t{{ loop.index0 }} is null{{ ' or ' if not loop.last }}{% endfor %} then null
            else date_format(
                {% if sources | length == 1 -%}
                    t0
                {%- else -%}
                    least({% for _ in sources %}t{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %})
                {%- endif %}
                - make_dt_interval(0, 0, 0, {{ lateness }}),
                "yyyy-MM-dd'T'HH:mm:ss.SSSSSS+00:00"
            ) end
        from (
            select
            {%- for table in tables %}
                (select max(occurred_at) from {{ table }} where _batch_id <= {{ batch_ids[table] }}) as t{{ loop.index0 }}
                {{- ',' if not loop.last }}
            {%- endfor %}
        )
    {%- endset -%}
    {%- set candidate = run_query(times_sql).rows[0][0] -%}

    {%- set current = {} -%}
    {%- for row in run_query('show tblproperties ' ~ this) -%}
        {%- do current.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set previous = current.get('dp.watermark') -%}
    {%- set watermark = previous if candidate is none or (previous and previous >= candidate) else candidate -%}
    {#- the format Gold's readers expect: compact JSON, sorted, only the sources something was folded in from -#}
    {%- set folded = [] -%}
    {%- for table, batch in batch_ids | dictsort if batch >= 0 -%}
        {%- do folded.append('"' ~ table ~ '":' ~ batch) -%}
    {%- endfor -%}
    {%- set wanted = {
        'dp.silver.batch-ids': '{' ~ folded | join(',') ~ '}',
        'dp.silver.batch-id': (batch_ids.values() | max) | string,
        'dp.job': 'dbt',
    } -%}
    {%- if watermark -%}{%- do wanted.update({'dp.watermark': watermark}) -%}{%- endif -%}
    {%- set changed = [] -%}
    {%- for key, value in wanted.items() if current.get(key) != value -%}
        {%- do changed.append("'" ~ key ~ "' = '" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- if changed -%}
        alter table {{ this }} set tblproperties ({{ changed | join(', ') }})
    {%- endif -%}
{% endmacro %}
