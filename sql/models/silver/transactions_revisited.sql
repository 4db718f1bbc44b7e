{{ config(materialized='table', tags=['partitioned_by_landing_day']) }}
{#- The change set of an incremental run, like a Snowflake stream: every Bronze version, classified, of
    each transaction the landing window's files can change (every transaction without a window).
    silver.transactions merges its valid rows; the Gold facts rebuild the groups its versions fall in;
    the reconciliation counts it. Classified once here, so none of them reads Bronze's history again.
    Empty in a full refresh, which rebuilds them all from transactions_classified. #}
-- A customer or product file changes which transactions are revisited (revisited_transaction_ids):
-- depends_on: {{ source('bronze', 'customers') }}
-- depends_on: {{ source('bronze', 'products') }}
{#- Every transaction when there is no window, or when Silver has none yet (a first build: all of them
    are new to it, so silver.transactions is built from here too). -#}
{%- set silver_transactions = adapter.get_relation(this.database, this.schema, 'transactions') %}
{%- set revisit_all = not landing_window_is_set() or silver_transactions is none %}
select * from (
    {{ classified_transactions(keys=none if revisit_all else revisited_transaction_ids(silver_transactions)) }}
) as versions
{%- if flags.FULL_REFRESH %}
where false
{%- endif %}
