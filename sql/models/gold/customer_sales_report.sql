{#- Each customer who bought: first and last purchase, orders, revenue, average order value and a
    recency-frequency-monetary (RFM) segment, defined to be simple and reproducible:
    - recency_days counts from the last purchase to as_of_date, the latest transaction_date in Silver
      (not current_date, so the same data always gives the same segments);
    - recency_score (fewer days is better), frequency_score (orders) and monetary_score (revenue) say in
      which third of the customers, lined up worst to best, a customer's value lies: 1 when the share of
      customers whose value is no better (ties included) is at most 1/3, 2 when at most 2/3, else 3.
      Equal values get equal scores: NTILE would split ties by an arbitrary key, and most customers
      share a recency of a few days. Compared in integers, so exact;
    - rfm_segment, the first that applies: Champions (R 3, F 3: lately and often), New (R 3, F 1),
      At Risk (R 1, F >= 2: often, not lately), Hibernating (R 1, F 1), Loyal (F 3 or M 3), else Other.
    Sales naming no customer are left out: there is no one to report on. -#}
with as_of as (
    select max(transaction_date) as as_of_date
    from {{ ref('transactions') }}
),

customer_sales as (
    select
        customer_id,
        min(transaction_date) as first_purchase_date,
        max(transaction_date) as last_purchase_date,
        count(*) as orders,
        {{ money_sum('total_amount') }} as revenue,
        {{ money_ratio('sum(total_amount)', 'count(*)') }} as average_order_value
    from {{ ref('sales_enriched') }}
    where customer_id is not null
    group by customer_id
),

with_recency as (
    select
        customer_sales.*,
        as_of.as_of_date,
        {{ dbt.datediff('customer_sales.last_purchase_date', 'as_of.as_of_date', 'day') }} as recency_days
    from customer_sales
    cross join as_of
),

{#- For each measure, how many customers are no better than this one (ties included), of how many. -#}
positioned as (
    select
        *,
        count(*) over () as customers,
        count(*) over (order by recency_days desc range between unbounded preceding and current row)
            as recency_position,
        count(*) over (order by orders range between unbounded preceding and current row)
            as frequency_position,
        count(*) over (order by revenue range between unbounded preceding and current row)
            as monetary_position
    from with_recency
),

scored as (
    select
        *,
        case when 3 * recency_position <= customers then 1
             when 3 * recency_position <= 2 * customers then 2 else 3 end as recency_score,
        case when 3 * frequency_position <= customers then 1
             when 3 * frequency_position <= 2 * customers then 2 else 3 end as frequency_score,
        case when 3 * monetary_position <= customers then 1
             when 3 * monetary_position <= 2 * customers then 2 else 3 end as monetary_score
    from positioned
)

select
    customer_id,
    first_purchase_date,
    last_purchase_date,
    orders,
    revenue,
    average_order_value,
    as_of_date,
    recency_days,
    recency_score,
    frequency_score,
    monetary_score,
    case
        when recency_score = 3 and frequency_score = 3 then 'Champions'
        when recency_score = 3 and frequency_score = 1 then 'New'
        when recency_score = 1 and frequency_score >= 2 then 'At Risk'
        when recency_score = 1 then 'Hibernating'
        when frequency_score = 3 or monetary_score = 3 then 'Loyal'
        else 'Other'
    end as rfm_segment
from scored
