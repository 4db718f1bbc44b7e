{{ config(materialized='view') }}
{#- Customer rows that cannot enter Silver, with the reason and where they came from. -#}
select
    _quarantine_reason as reason,
    customer_id,
    name,
    email_given as email,
    _source_file,
    _row_number,
    _load_id,
    _ingested_at
from {{ ref('customers_classified') }}
where _status = 'quarantined'
