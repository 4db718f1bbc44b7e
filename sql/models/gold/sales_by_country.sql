{#- Revenue per customer country. Sales whose customer is unknown to the CRM, or has no country,
    count under 'Unknown', so the countries always add up to total revenue. -#}
select
    coalesce(customers.country, 'Unknown') as country,
    {{ money_sum('sales.total_amount') }} as total_sales,
    count(*) as number_of_sales,
    count(distinct sales.customer_id) as number_of_customers
from {{ ref('sales_enriched') }} as sales
left join {{ ref('customers') }} as customers on sales.customer_id = customers.customer_id
group by coalesce(customers.country, 'Unknown')
