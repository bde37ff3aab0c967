{#-
  The order_placed event that defines each order in `events` (a relation or CTE of stg_orders rows): should Silver
  hold several for one order (distinct event ids), the first placed wins -- earliest occurred_at, then smallest
  event_id. Adds `order_batch_id`, the newest Silver run among all the order's events (the marts' orders cursor).
-#}
{% macro first_placed(events) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by order_id order by occurred_at, event_id) as placed_rank,
            max(_batch_id) over (partition by order_id) as order_batch_id
        from {{ events }}
    )
    where placed_rank = 1
{%- endmacro %}
