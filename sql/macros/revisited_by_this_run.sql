{#- dbt's `where` config for data tests, plus one value of ours: `where: __revisited_by_this_run__`
    tests only the silver.transactions ids an incremental run revisited (transactions_revisited), the
    only rows it changed, instead of the whole history; a full refresh tests every row. dbt calls this
    macro for every test; any other `where` works as in dbt. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__revisited_by_this_run__' and flags.FULL_REFRESH -%}
        {%- set where = '' -%}
    {%- elif where == '__revisited_by_this_run__' -%}
        {#- Beside the tested table, named rather than ref()'d: dbt records a test's refs before it
            knows its config. silver.transactions is built on it, so it exists when the test runs. -#}
        {%- set revisited = relation.incorporate(path={'identifier': 'transactions_revisited'}) -%}
        {%- set where = 'transaction_id in (select transaction_id from ' ~ revisited ~ ')' -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
