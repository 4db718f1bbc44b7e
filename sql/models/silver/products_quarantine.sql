{{ config(materialized='view') }}
{#- Product rows that cannot enter Silver, with the reason and where they came from. -#}
select
    _quarantine_reason as reason,
    product_id,
    product_name,
    _source_file,
    _row_number,
    _load_id,
    _ingested_at
from {{ ref('products_classified') }}
where _status = 'quarantined'
