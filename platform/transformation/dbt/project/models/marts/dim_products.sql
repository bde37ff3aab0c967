-- Products as a slowly changing dimension of type 2 (definitions in _marts.yml): one row per version, valid from
-- its updated_at until the next version's (macros/scd2_from_versions.sql). Incremental: the products with a
-- version newer than the mart's cursor are recomputed from all their versions and merged on (product_id,
-- valid_from), which closes the version before.
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['product_id', 'valid_from'],
        on_schema_change='fail',
    )
}}

{{ scd2_from_versions(
    'stg_product_versions', 'product_id', ['name', 'category', 'brand', 'price', 'currency', 'active']
) }}
