{#- The transaction rules, written once for the two models that apply them: transactions_classified
    classifies every Bronze row, transactions_revisited every version of the ids an incremental run
    revisits (`transaction_ids`, a query of them). Their filter comes before the version ranking, so the
    ranking reads only their rows; a filter on transactions_classified would come after it (the ranking
    spans each id's versions), and classify all of Bronze.
    Each row is parsed and gets its fate: valid, superseded by a later version of its transaction_id
    (macros/cleaning.sql: version_order), or quarantined with every reason that applies. The latest
    version decides: a bad correction quarantines, it does not resurrect the old one. -#}
{% macro classify_transactions(transaction_ids=none) -%}
with bronze as (
    {%- if transaction_ids is none %}
    select * from {{ source('bronze', 'transactions') }}
    {%- else %}
    {{ rows_with_cleaned_id(source('bronze', 'transactions'), 'transaction_id', transaction_ids) }}
    {%- endif %}
),

parsed as (
    select
        {{ cleaned_id('transaction_id') }} as transaction_id,
        {{ cleaned_id('customer_id') }} as customer_id,
        {{ cleaned_id('product_id') }} as product_id,
        quantity,
        total_amount,
        transaction_date as transaction_date_given,
        {{ parse_feed_timestamp('transaction_date') }} as transaction_at,
        nullif(trim(payment_method), '') as payment_method,
        nullif(trim(store_type), '') as store_type,
        {{ lineage_columns() }}
    from bronze
),

checked as {{ inlined() }} (
    select
        *,
        {{ join_reasons([
            missing_key_reason('transaction_id'),
            "case when total_amount is null then 'missing total_amount' when total_amount <= 0 then 'total_amount <= 0' end",
            "case when quantity is null then 'missing quantity' when quantity <= 0 then 'quantity <= 0' end",
            "case when nullif(trim(transaction_date_given), '') is null then 'missing transaction_date'
                  when transaction_at is null then 'unparseable transaction_date' end",
        ]) }} as _quarantine_reason
    from parsed
),

classified as (
    {{ with_version_status('checked', 'transaction_id', '_quarantine_reason') }}
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
    {{ lineage_columns() }}
from classified
{%- endmacro %}
