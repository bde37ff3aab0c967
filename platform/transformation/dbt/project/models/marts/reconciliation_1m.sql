-- The batch layer correcting the speed layer, per 1-minute window and currency (definitions in _marts.yml): Gold's
-- orders and revenue (agg_orders_1m) beside the speed layer's (its windows rolled up to the minute) and the late
-- events that explain the difference, for every minute the speed layer has closed. Rebuilt from both sides at every
-- Gold build and merged by (window_start, currency): only rows whose numbers changed are written, so a build with
-- nothing new on either side commits nothing.
-- depends_on: {{ ref('stg_orders') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['window_start', 'currency'],
        on_schema_change='fail',
        partition_by=['order_date'],
    )
}}
{%- set speed_orders = source('speed', 'orders_windows') -%}
{%- set late_events = source('speed', 'late_events') -%}
{%- set progress = source('speed', 'aggregator_progress') -%}
{%- set orders_topic = env_var('DTHEINFRA_DBT_ORDERS_TOPIC', 'commerce.order_placed.v1') -%}

with

{% if speed_ready([speed_orders, late_events, progress]) %}
speed_watermark as (
    -- the aggregator's event-time watermark on the orders topic: every window ending at or before it is closed
    select max(watermark) as watermark
    from {{ progress }}
    where kafka_topic = '{{ orders_topic }}'
),

speed as (
    select
        date_trunc('MINUTE', window_start) as window_start,
        currency,
        sum(orders) as orders,
        sum(revenue) as revenue
    from {{ speed_orders }}
    group by date_trunc('MINUTE', window_start), currency
),

late as (
    -- the orders the speed layer saw after their window had closed, with their currency and total from Silver
    select
        date_trunc('MINUTE', o.occurred_at) as window_start,
        o.currency,
        count(*) as orders,
        sum(o.total) as revenue
    from {{ late_events }} as l
    inner join {{ ref('stg_orders') }} as o on l.event_id = o.event_id
    where l.contract = 'order_placed'
    group by date_trunc('MINUTE', o.occurred_at), o.currency
),
{% else %}
speed_watermark as (
    select cast(null as timestamp) as watermark
),

speed as (
    select
        cast(null as timestamp) as window_start,
        cast(null as string) as currency,
        cast(0 as bigint) as orders,
        cast(0 as decimal(18, 2)) as revenue
    where false
),

late as (
    select
        window_start,
        currency,
        orders,
        revenue
    from speed
),
{% endif %}

batch as (
    select
        window_start,
        currency,
        orders,
        revenue,
        silver_orders_batch_id
    from {{ ref('agg_orders_1m') }}
),

windows as (
    select
        window_start,
        currency
    from batch
    union
    select
        window_start,
        currency
    from speed
    union
    select
        window_start,
        currency
    from late
),

reconciled as (
    select
        w.window_start,
        w.window_start + interval 1 minute as window_end,
        to_date(w.window_start) as order_date,
        w.currency,
        coalesce(b.orders, 0) as batch_orders,
        cast(coalesce(b.revenue, 0) as decimal(18, 2)) as batch_revenue,
        coalesce(s.orders, 0) as speed_orders,
        cast(coalesce(s.revenue, 0) as decimal(18, 2)) as speed_revenue,
        coalesce(l.orders, 0) as late_orders,
        cast(coalesce(l.revenue, 0) as decimal(18, 2)) as late_revenue,
        b.silver_orders_batch_id
    from windows as w
    cross join speed_watermark as m
    left join batch as b on w.window_start = b.window_start and w.currency = b.currency
    left join speed as s on w.window_start = s.window_start and w.currency = s.currency
    left join late as l on w.window_start = l.window_start and w.currency = l.currency
    where w.window_start + interval 1 minute <= m.watermark
),

final as (
    select
        window_start,
        window_end,
        order_date,
        currency,
        batch_orders,
        batch_revenue,
        speed_orders,
        speed_revenue,
        late_orders,
        late_revenue,
        batch_orders - speed_orders as orders_difference,
        cast(batch_revenue - speed_revenue as decimal(18, 2)) as revenue_difference,
        batch_orders - speed_orders - late_orders as unexplained_orders,
        cast(batch_revenue - speed_revenue - late_revenue as decimal(18, 2)) as unexplained_revenue,
        silver_orders_batch_id
    from reconciled
)

select
    window_start,
    window_end,
    order_date,
    currency,
    batch_orders,
    batch_revenue,
    speed_orders,
    speed_revenue,
    late_orders,
    late_revenue,
    orders_difference,
    revenue_difference,
    unexplained_orders,
    unexplained_revenue,
    silver_orders_batch_id
from final
{% if is_incremental() %}
-- only the rows that are new or whose numbers changed since the last build
except
select
    window_start,
    window_end,
    order_date,
    currency,
    batch_orders,
    batch_revenue,
    speed_orders,
    speed_revenue,
    late_orders,
    late_revenue,
    orders_difference,
    revenue_difference,
    unexplained_orders,
    unexplained_revenue,
    silver_orders_batch_id
from {{ this }}
{% endif %}
