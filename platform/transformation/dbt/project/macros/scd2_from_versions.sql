{#-
  A type-2 slowly changing dimension from a staging model of versions (one row per key and updated_at, with the
  Silver _batch_id): one row per version with version_number (1, 2, ... in time order), the given columns,
  valid_from (its updated_at, inclusive), valid_to (the next version's, exclusive; null for the current one),
  is_current, silver_batch_id (the newest Silver run among the key's versions: the dimension's cursor) and
  version_batch_id (the Silver run that last wrote this version: only a later-arriving record of the same key and
  updated_at rewrites it; what the marts that use a version record).
  Incremental: every version of the keys that have a version newer than the cursor is recomputed, so merging on
  (key, valid_from) also closes the version before a new one.
-#}
{% macro scd2_from_versions(versions_model, key, columns) %}
    with versions as (
        select *
        from {{ ref(versions_model) }}
        {% if is_incremental() %}
            where
                {{ key }} in (
                    select {{ key }}
                    from {{ ref(versions_model) }}
                    where _batch_id > {{ folded('silver_batch_id') }}
                )
        {% endif %}
    )

    select
        {{ key }},
        cast(row_number() over (partition by {{ key }} order by updated_at) as int) as version_number,
        {%- for column in columns %}
            {{ column }},
        {%- endfor %}
        updated_at as valid_from,
        lead(updated_at) over (partition by {{ key }} order by updated_at) as valid_to,
        lead(updated_at) over (partition by {{ key }} order by updated_at) is null as is_current,
        max(_batch_id) over (partition by {{ key }}) as silver_batch_id,
        _batch_id as version_batch_id
    from versions
{% endmacro %}
