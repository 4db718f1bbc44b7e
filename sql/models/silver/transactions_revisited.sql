{{ config(materialized='table', tags=['partitioned_by_landing_day']) }}
{#- The change set of an incremental run, like a Snowflake stream: every Bronze version, classified
    (macros/classify_transactions.sql), of each transaction the landing window's files can change; every
    transaction without a window. silver.transactions merges its valid rows; the Gold facts rebuild the
    groups its versions fall in; the reconciliation counts it. Classified once here, so none of them
    reads Bronze's history again. Which transactions, it reads from Bronze alone, never from the Silver
    it feeds. Empty in a full refresh, which rebuilds all of them from transactions_classified, as a
    first build of silver.transactions does. -#}
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
select * from (
    {{ classify_transactions(transaction_ids if landing_window_is_set() else none) }}
) as versions
{%- if flags.FULL_REFRESH %}
where false
{%- endif %}
