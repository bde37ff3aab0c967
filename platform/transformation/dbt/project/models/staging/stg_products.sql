-- One row per product: its latest version (Silver keeps one per product_id; the rank makes sure of it).
select
    product_id,
    category,
    updated_at
from (
    select
        cast(product_id as string) as product_id,
        category,
        updated_at,
        row_number() over (partition by product_id order by updated_at desc, category asc) as recency
    from {{ silver_source('product') }}
)
where recency = 1
