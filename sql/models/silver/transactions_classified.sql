{{ config(materialized='view') }}
{#- Every Bronze transaction row, parsed, with its fate: valid, superseded or quarantined with every
    reason that applies. The rules are macros/classify_transactions.sql, which transactions_revisited
    applies to the versions an incremental run revisits. -#}
{{ classify_transactions() }}
