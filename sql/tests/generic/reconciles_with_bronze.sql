{#- Nothing lost, nothing counted twice: every bronze.<entity> row is in silver.<entity>, in its
    quarantine, or superseded by a later version of its key. Counted from the Silver table itself (the
    one an incremental run can get wrong). Returns one row, with the counts, when they do not add up.
    Severity error: `dbt build` skips what is built on the table. It reads the quarantine through the
    classification its view filters, because dbt only holds back models downstream of every model a
    test reads, and no Gold model reads the quarantine. -#}
{% test reconciles_with_bronze(model, entity) %}
with counts as (
    select
        (select count(*) from {{ source('bronze', entity) }}) as bronze_rows,
        (select count(*) from {{ model }}) as silver_rows,
        (select count(*) from {{ ref(entity ~ '_classified') }} where _status = 'quarantined') as quarantined_rows,
        (select count(*) from {{ ref(entity ~ '_classified') }} where _status = 'superseded') as superseded_rows
)
select
    bronze_rows - (silver_rows + quarantined_rows + superseded_rows) as unaccounted_rows,
    *
from counts
where bronze_rows <> silver_rows + quarantined_rows + superseded_rows
{% endtest %}
