-- One row per page_view event Silver holds (valid, deduplicated by event id): the columns Gold uses.
select
    cast(event_id as string) as event_id,
    cast(session_id as string) as session_id,
    occurred_at,
    _batch_id
from {{ silver_source('page_view') }}
