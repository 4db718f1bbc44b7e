{{ config(materialized='view') }}
{#- Transaction rows that cannot enter Silver (no id, amount or quantity <= 0, no usable date),
    with every reason that applies and where they came from. -#}
select
    _quarantine_reason as reason,
    transaction_id,
    customer_id,
    product_id,
    quantity,
    total_amount,
    transaction_date_given as transaction_date,
    _source_file,
    _row_number,
    _load_id,
    _ingested_at
from {{ ref('transactions_classified') }}
where _status = 'quarantined'
