{{ config(
    materialized='incremental',
    incremental_strategy='replace_where',
    incremental_predicates=[
        "transaction_id in (select transaction_id from {{ ref('transactions_revisited') }})
         or (transaction_id is null
             and _load_id in (select _load_id from {{ ref('transactions_revisited') }} where transaction_id is null))"],
    tags=['partitioned_by_landing_day'],
) }}
{#- Transaction rows that cannot enter Silver (no id, amount or quantity <= 0, no usable date),
    with every reason that applies and where they came from. Merged as silver.transactions is, from
    what the run revisits: every version of the ids it revisits, and its files' rows without an id. -#}
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
from {{ ref('transactions_revisited') }}
where _status = 'quarantined'
