{#- Nothing lost, nothing counted twice: every bronze.<entity> row is in silver.<entity>, in its
    quarantine, or superseded by a later version of its key. Counted from the Silver table itself (the
    one an incremental run can get wrong). Returns one row, with the counts, when they do not add up.
    With a landing window (an incremental run) it checks the keys the window's files carry, every
    version of them: the only Silver rows such a run changes. Without one (the nightly full refresh)
    it checks all of Bronze, whose rows it counts in Bronze itself.
    `versions` is the model holding the entity's Bronze rows already classified (customers_classified),
    so the check reads their statuses there instead of classifying Bronze once more. With `change_set`,
    `versions` holds what a run revisits (transactions_revisited): every version of the keys it
    revisits, classified, and every Bronze row when the run built Silver whole. With a window the check
    covers its keys and counts them there, so it comes down to Silver holding exactly their valid
    versions.
    Severity error: `dbt build` skips what is built on the table (dbt holds back the models that depend
    on everything a test reads: the table and the Bronze beneath it). -#}
{% test reconciles_with_bronze(model, entity, versions, change_set=false) %}
{%- set key = entity_key(entity) %}
{%- if not landing_window_is_set() %}{% set keys = none %}
{%- elif change_set %}{% set keys = 'select ' ~ key ~ ' from ' ~ versions %}
{%- else %}{% set keys = keys_in_landing_window(entity) %}
{%- endif %}
with versions as (
    select * from {{ versions }}
    {%- if keys is not none and not change_set %}
    where {{ key }} in ({{ keys }})
    {%- endif %}
),

bronze as (
    {%- if change_set and keys is not none %}
    select * from versions
    {%- else %}
    select * from {{ source('bronze', entity) }}
    {%- if keys is not none %}
    where {{ cleaned_id(key) }} in ({{ keys }})
    {%- endif %}
    {%- endif %}
),

counts as (
    select
        (select count(*) from bronze) as bronze_rows,
        (select count(*) from {{ model }}
         {%- if keys is not none %}
         where {{ key }} in ({{ keys }})
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
