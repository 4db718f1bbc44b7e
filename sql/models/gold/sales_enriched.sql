{{ config(materialized='ephemeral') }}
{#- Every Silver sale with its product and customer attributes (macros/enrich_sales.sql).
    Ephemeral (inlined where it is used): a join is not data, so no run has to rebuild it before the
    Gold models that read it. -#}
{{ enrich_sales(ref('transactions')) }}
