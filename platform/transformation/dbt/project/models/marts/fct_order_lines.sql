-- One row per line of each order (definitions in _marts.yml): the lines of the order's first placed event, with
-- the order's day, currency and payment status. Incremental like fct_orders, whose rows drive it: each run takes
-- the orders whose cursors in fct_orders are newer than this mart's and merges their lines on (order_id,
-- line_index); a run with nothing new commits nothing.
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['order_id', 'line_index'],
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}

with orders as (
    select
        order_id,
        customer_id,
        occurred_at,
        order_date,
        currency,
        payment_status,
        silver_orders_batch_id,
        silver_payments_batch_id
    from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where
        silver_orders_batch_id > {{ folded('silver_orders_batch_id') }}
        or silver_payments_batch_id > {{ folded('silver_payments_batch_id') }}
        or {{ in_backfill('order_date') }}
    {% endif %}
),

events as (
    select e.* from {{ ref('stg_orders') }} as e left semi join orders as o on e.order_id = o.order_id
),

placed as (
    {{ first_placed('events') }}
),

lines as (
    select
        p.order_id,
        l.pos + 1 as line_index,
        l.line
    from placed as p
        lateral view posexplode(p.lines) l as pos, line
)

select
    o.order_id,
    l.line_index,
    l.line.line_number,
    cast(l.line.product_id as string) as product_id,
    l.line.quantity,
    l.line.unit_price,
    l.line.line_total,
    o.customer_id,
    o.occurred_at,
    o.order_date,
    o.currency,
    o.payment_status,
    o.silver_orders_batch_id,
    o.silver_payments_batch_id
from lines as l
inner join orders as o on l.order_id = o.order_id
