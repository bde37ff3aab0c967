-- Revenue per order day, product category and currency (definitions in _marts.yml), from fct_order_lines, each
-- line in the category its product had at the order's event time (dim_products). Incremental: each run recomputes
-- in full the days holding a line newer than the mart's cursors, and the days of the lines a new product version
-- can move to another category (those at or after its valid_from), and replaces exactly those days (insert
-- overwrite of their partitions); a run with nothing new commits nothing.
-- depends_on: {{ ref('stg_product_versions') }}  (read only by incremental runs, which dbt's parse does not render)
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}

{% if is_incremental() %}
with changed_products as (
    select
        product_id,
        min(
            case
                when _batch_id > {{ folded('silver_products_batch_id') }} then updated_at
            end
        )
            as changed_from
    from {{ ref('stg_product_versions') }}
    group by product_id
    having max(_batch_id) > {{ folded('silver_products_batch_id') }}
),

days as (
    select order_date
    from {{ ref('fct_order_lines') }}
    where
        silver_orders_batch_id > {{ folded('silver_orders_batch_id') }}
        or silver_payments_batch_id > {{ folded('silver_payments_batch_id') }}
        or {{ in_backfill('order_date') }}
    union
    select l.order_date
    from {{ ref('fct_order_lines') }} as l
    inner join changed_products as c
        on l.product_id = c.product_id
    where l.occurred_at >= c.changed_from
),

lines as (
    select *
    from {{ ref('fct_order_lines') }}
    where order_date in (select d.order_date from days as d)
),
{% else %}
with lines as (
    select * from {{ ref('fct_order_lines') }}
),
{% endif %}

versions as (
    -- each version with the newest Silver run among the product's versions up to it: what a line taking this
    -- version has seen. Stable (a full refresh writes what the incremental runs wrote), and it reaches every
    -- version that can change the line, so the products cursor never sticks below one (a late older version)
    select
        *,
        max(version_batch_id) over (
            partition by product_id order by valid_from rows between unbounded preceding and current row
        ) as batch_up_to
    from {{ ref('dim_products') }}
),

categorised as (
    select
        l.*,
        l.payment_status = 'AUTHORISED' as paid,
        coalesce(p.category, 'unknown') as category,
        coalesce(p.batch_up_to, -1) as products_batch_id
    from lines as l
    left join versions as p
        on
            l.product_id = p.product_id
            -- the version valid at the order's time; none for an order older than every version ('unknown', as the
            -- speed layer's temporal join has it)
            and l.occurred_at >= p.valid_from
            and (p.valid_to is null or l.occurred_at < p.valid_to)
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
    max(silver_payments_batch_id) as silver_payments_batch_id,
    max(products_batch_id) as silver_products_batch_id
from categorised
group by order_date, category, currency
