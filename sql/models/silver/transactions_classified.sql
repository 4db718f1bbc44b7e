{{ config(materialized='view') }}
{#- Every Bronze transaction row, parsed, with its fate: valid, superseded or quarantined (the rules:
    macros/classification.sql). -#}
{{ classified_transactions() }}
