-- Customers as a slowly changing dimension of type 2 (definitions in _marts.yml), like dim_products: one row per
-- version, valid from its updated_at until the next version's (macros/scd2_from_versions.sql), merged on
-- (customer_id, valid_from). The personal data stays in Silver.
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['customer_id', 'valid_from'],
        on_schema_change='fail',
    )
}}

{{ scd2_from_versions(
    'stg_customer_versions', 'customer_id', ['country', 'segment', 'signup_date', 'marketing_opt_in']
) }}
