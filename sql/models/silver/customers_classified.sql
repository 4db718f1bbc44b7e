{{ config(materialized='view') }}
{#- Every Bronze customer row, cleaned, with its fate: valid, superseded or quarantined (the rules:
    macros/classification.sql). The Silver table and its quarantine are both cut from here, so they
    cannot disagree. -#}
{{ classified_customers() }}
