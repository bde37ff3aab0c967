-- Orders fact, incremental: each run merges the orders Silver added since the newest one already folded in.
{{
    config(
        materialized='incremental',
        file_format='iceberg',
        incremental_strategy='merge',
        unique_key='order_id',
        partition_by=['order_date'],
    )
}}

select
    order_id, customer_id, currency, subtotal, shipping, tax, total, line_count, occurred_at,
    to_date(occurred_at) as order_date,
    _batch_id as silver_batch_id
from {{ ref('stg_orders') }}
{% if is_incremental() %}
where _batch_id > (select coalesce(max(silver_batch_id), -1) from {{ this }})
{% endif %}
