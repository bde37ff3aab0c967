-- One row per order: its amounts, its lines summed up and the outcome of its payments (definitions in _marts.yml).
-- Incremental: each run recomputes the orders that Silver batches newer than the mart's cursors touched (a new
-- order_placed event of the order, or a new payment event for it) from all their events, and merges them on
-- order_id; a run with nothing new commits nothing (macros/incremental_guard.sql). One cursor per Silver table
-- (the newest _batch_id folded in from it): a Silver run writes its tables one after the other, and a single
-- cursor over both would skip the rows of a table the run had not written yet when the mart was built.
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='order_id',
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}

{% if is_incremental() %}
with cursors as (
    select
        coalesce(max(silver_orders_batch_id), -1) as orders_folded,
        coalesce(max(silver_payments_batch_id), -1) as payments_folded
    from {{ this }}
),

touched as (
    select order_id from {{ ref('stg_orders') }}
    where _batch_id > (select orders_folded from cursors)
    union
    select order_id from {{ ref('stg_payments') }}
    where _batch_id > (select payments_folded from cursors)
    union
    select order_id from {{ ref('stg_orders') }}
    where {{ in_backfill('to_date(occurred_at)') }}
),

orders as (
    select o.* from {{ ref('stg_orders') }} as o inner join touched as t on o.order_id = t.order_id
),
{% else %}
with orders as (
    select * from {{ ref('stg_orders') }}
),
{% endif %}

first_placed as (
    {{ first_placed('orders') }}
),

payment_batches as (
    select
        order_id,
        max(_batch_id) as payment_batch_id
    from {{ ref('stg_payments') }}
    group by order_id
)

select
    o.order_id,
    o.customer_id,
    o.session_id,
    o.occurred_at,
    to_date(o.occurred_at) as order_date,
    o.currency,
    o.shipping_country,
    case when o.lines is null then 0 else size(o.lines) end as line_count,  -- size(null) is -1 without ANSI
    cast(coalesce(aggregate(o.lines, cast(0 as bigint), (acc, l) -> acc + coalesce(l.quantity, 0)), 0) as bigint)
        as units,
    cast(
        coalesce(
            aggregate(
                o.lines, cast(0 as decimal(18, 2)), (acc, l) -> cast(acc + coalesce(l.line_total, 0) as decimal(18, 2))
            ),
            0
        ) as decimal(18, 2)
    ) as lines_total,
    o.subtotal,
    o.shipping,
    o.tax,
    o.total,
    coalesce(p.payment_status, 'PENDING') as payment_status,
    p.paid_at,
    coalesce(p.refunded, false) as refunded,
    o.order_batch_id as silver_orders_batch_id,
    coalesce(b.payment_batch_id, -1) as silver_payments_batch_id
from first_placed as o
left join {{ ref('int_payment_outcomes') }} as p on o.order_id = p.order_id
left join payment_batches as b on o.order_id = b.order_id
