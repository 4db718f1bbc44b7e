{#- How much and how lately each customer buys. Customers unknown to the CRM appear with
    customer_type 'Unknown'; sales naming no customer are left out: there is no one to report on. -#}
select
    customer_id,
    customer_type,
    count(*) as number_of_purchases,
    {{ money_sum('total_amount') }} as total_spent,
    max(transaction_date) as last_purchase_date
from {{ ref('sales_enriched') }}
where customer_id is not null
group by customer_id, customer_type
