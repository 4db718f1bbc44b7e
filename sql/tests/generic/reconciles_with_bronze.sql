{#- Nothing lost, nothing counted twice: every bronze.<entity> row is in silver.<entity>, in its
    quarantine, or superseded by a later version of its key. Counted from the Silver table itself (the
    one an incremental run can get wrong). Returns one row, with the counts, when they do not add up.
    With a landing window (an incremental run) it checks the keys the window's files carry, every
    version of them: the only Silver rows such a run changes. Without one (the nightly full refresh)
    it checks all of Bronze. Severity error: `dbt build` skips what is built on the table (dbt holds
    back the models that depend on everything a test reads: the table and the Bronze beneath it). -#}
{% test reconciles_with_bronze(model, entity) %}
{%- set window_only = landing_window_is_set() %}
with versions as (
    {{ classified(entity, keys_in_window=window_only) }}
),

counts as (
    select
        (select count(*) from ({{ bronze_versions(entity, keys_in_window=window_only) }}) as bronze) as bronze_rows,
        (select count(*) from {{ model }}
         {%- if window_only %}
         where {{ entity_key(entity) }} in ({{ keys_in_landing_window(entity) }})
         {%- endif %}) as silver_rows,
        (select count(*) from versions where _status = 'quarantined') as quarantined_rows,
        (select count(*) from versions where _status = 'superseded') as superseded_rows
)

select
    bronze_rows - (silver_rows + quarantined_rows + superseded_rows) as unaccounted_rows,
    *
from counts
where bronze_rows <> silver_rows + quarantined_rows + superseded_rows
{% endtest %}
