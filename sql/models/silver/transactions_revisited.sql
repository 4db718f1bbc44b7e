{{ config(materialized='table', tags=['partitioned_by_landing_day']) }}
{#- The change set of a run, like a Snowflake stream: every Bronze version, classified, of each
    transaction the landing window's files can change, and those files' rows without an id.
    silver.transactions merges its valid rows, silver.transactions_quarantine its quarantined ones; the
    Gold facts rebuild the groups its versions fall in; the reconciliation counts it. Classified once
    here, so none of them reads Bronze's history again. Which transactions, it reads from Bronze alone,
    never from the Silver it feeds.
    Every Bronze row when the Silver tables are built whole: without a window, in a full refresh, and
    on a first build (either table not there yet, or the quarantine still the view it once was), so
    that they are built from here in the same run, from one classification of Bronze.
    Each row gets its fate: valid, superseded by a later version of its transaction_id
    (macros/cleaning.sql: version_order), or quarantined with every reason that applies. The latest
    version decides: a bad correction quarantines, it does not resurrect the old one. -#}
{%- set built_whole = [] %}
{%- for table in ('transactions', 'transactions_quarantine') %}
    {%- set relation = adapter.get_relation(this.database, this.schema, table) if execute else none %}
    {%- if relation is none or not relation.is_table %}{% do built_whole.append(table) %}{% endif %}
{%- endfor %}
{%- set every_row = not landing_window_is_set() or flags.FULL_REFRESH or built_whole %}
{%- set transaction_ids -%}
    {#- those with a version in the window's files, #}
    {{ keys_in_landing_window('transactions') }}
    union
    {#- and those naming a customer or product with a version there (silver.transactions records whether
        their customer and product are known; the Gold facts carry their attributes), in any of their
        versions: the one Silver holds is among them, and revisiting an id whose other versions name one
        rebuilds the rows it had. One branch each, not one scan with an OR: on a day without customer
        (product) files its branch's join has nothing to probe with and DuckDB skips its scan of Bronze
        (README, "Scale and speed": the latency benchmark at a scale-1.0 history before and after). #}
    select {{ cleaned_id('transaction_id') }} from {{ source('bronze', 'transactions') }}
    where {{ cleaned_id('customer_id') }} in ({{ keys_in_landing_window('customers') }})
    union
    select {{ cleaned_id('transaction_id') }} from {{ source('bronze', 'transactions') }}
    where {{ cleaned_id('product_id') }} in ({{ keys_in_landing_window('products') }})
{%- endset %}
{#- Every CTE the ranking reads is inlined when it holds all of Bronze (macros/cleaning.sql: inlined): each
    read then computes only its columns, instead of DuckDB materializing 20M whole rows at scale 1.0. #}
with bronze as {{ inlined() if every_row }} (
    {%- if every_row %}
    select * from {{ source('bronze', 'transactions') }}
    {%- else %}
    {#- The filter comes before the version ranking, so the ranking reads only these rows. #}
    {{ rows_with_cleaned_id(source('bronze', 'transactions'), 'transaction_id', transaction_ids) }}
    union all
    select * from {{ source('bronze', 'transactions') }}
    where {{ in_landing_window() }} and {{ cleaned_id('transaction_id') }} is null
    {%- endif %}
),

parsed as {{ inlined() if every_row }} (
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
