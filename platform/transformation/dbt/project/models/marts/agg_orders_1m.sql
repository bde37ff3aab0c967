-- Orders and revenue per 1-minute window of the order's event time and currency (definitions in _marts.yml): the
-- batch counterpart of the speed layer's orders windows, with every order, late ones included. Incremental: each
-- run recomputes the days of the fct_orders rows whose orders cursor is newer than this mart's and replaces
-- exactly those days; a run with nothing new commits nothing.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}

with orders as (
    select
        order_id,
        session_id,
        occurred_at,
        order_date,
        currency,
        total,
        silver_orders_batch_id
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where
        order_date in (
            select order_date
            from {{ ref('fct_orders') }}
            where silver_orders_batch_id > {{ folded('silver_orders_batch_id') }}
        )
        or {{ in_backfill('order_date') }}
    {% endif %}
)

select
    date_trunc('MINUTE', occurred_at) as window_start,
    date_trunc('MINUTE', occurred_at) + interval 1 minute as window_end,
    order_date,
    currency,
    count(*) as orders,
    cast(coalesce(sum(total), 0) as decimal(18, 2)) as revenue,
    count(distinct session_id) as sessions,
    max(silver_orders_batch_id) as silver_orders_batch_id
from orders
group by date_trunc('MINUTE', occurred_at), order_date, currency
