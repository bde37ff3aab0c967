-- Revenue per order day, product category and currency (definitions in _marts.yml), from fct_order_lines.
-- Incremental: each run recomputes in full the days of the lines whose cursors are newer than this mart's and
-- replaces exactly those days (insert overwrite of their partitions); a run with nothing new commits nothing.
-- The category is the product's latest, as etl_gold takes it: a category change reaches the days recomputed from
-- then on.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}

with lines as (
    select *
    from {{ ref('fct_order_lines') }}
    {% if is_incremental() %}
    where
        order_date in (
            select order_date
            from {{ ref('fct_order_lines') }}
            where
                silver_orders_batch_id > (select coalesce(max(silver_orders_batch_id), -1) from {{ this }})
                or silver_payments_batch_id > (select coalesce(max(silver_payments_batch_id), -1) from {{ this }})
        )
        or {{ in_backfill('order_date') }}
    {% endif %}
),

categorised as (
    select
        l.*,
        l.payment_status = 'AUTHORISED' as paid,
        coalesce(p.category, 'unknown') as category
    from lines as l
    left join {{ ref('stg_products') }} as p on l.product_id = p.product_id
)

select
    order_date,
    category,
    currency,
    count(distinct case when paid then order_id end) as orders,
    cast(coalesce(sum(case when paid then quantity else 0 end), 0) as bigint) as units,
    cast(coalesce(sum(case when paid then line_total else 0 end), 0) as decimal(18, 2)) as revenue,
    count(distinct order_id) as placed_orders,
    cast(coalesce(sum(coalesce(quantity, 0)), 0) as bigint) as placed_units,
    cast(coalesce(sum(line_total), 0) as decimal(18, 2)) as gross_revenue,
    max(silver_orders_batch_id) as silver_orders_batch_id,
    max(silver_payments_batch_id) as silver_payments_batch_id
from categorised
group by order_date, category, currency
