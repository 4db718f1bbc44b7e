{{ config(materialized='view') }}
{#- Every Bronze product row, cleaned, with its fate: valid, superseded or quarantined (the rules:
    macros/classification.sql). -#}
{{ classified_products() }}
