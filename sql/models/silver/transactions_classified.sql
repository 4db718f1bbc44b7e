{{ config(materialized='view') }}
{#- Every Bronze transaction row, parsed, with its fate: valid, superseded or quarantined.
    The latest version of an id decides: a bad correction quarantines, it does not resurrect the old one. -#}

with parsed as (
    select
        nullif(trim(transaction_id), '') as transaction_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(product_id), '') as product_id,
        quantity,
        total_amount,
        transaction_date as transaction_date_given,
        {{ parse_feed_timestamp('transaction_date') }} as transaction_at,
        nullif(trim(payment_method), '') as payment_method,
        nullif(trim(store_type), '') as store_type,
        _source_file,
        _row_number,
        _load_id,
        _landing_date,
        _ingested_at
    from {{ source('bronze', 'transactions') }}
),

checked as (
    select
        *,
        {{ join_reasons([
            "case when transaction_id is null then 'missing transaction_id' end",
            "case when total_amount is null then 'missing total_amount' when total_amount <= 0 then 'total_amount <= 0' end",
            "case when quantity is null then 'missing quantity' when quantity <= 0 then 'quantity <= 0' end",
            "case when nullif(trim(transaction_date_given), '') is null then 'missing transaction_date'
                  when transaction_at is null then 'unparseable transaction_date' end",
        ]) }} as _quarantine_reason
    from parsed
),

classified as (
    select
        *,
        {{ row_status('transaction_id', '_quarantine_reason') }} as _status
    from checked
)

select
    transaction_id,
    customer_id,
    product_id,
    quantity,
    total_amount,
    transaction_date_given,
    transaction_at,
    cast(transaction_at as date) as transaction_date,
    payment_method,
    store_type,
    _status,
    case when _status = 'quarantined' then _quarantine_reason end as _quarantine_reason,
    _source_file,
    _row_number,
    _load_id,
    _landing_date,
    _ingested_at
from classified
