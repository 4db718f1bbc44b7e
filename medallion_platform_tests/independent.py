"""An independent computation of Silver and Gold from the raw feed files, for the tests to compare with.

Written with the Python standard library and pandas straight from the files, sharing no code with the
pipeline (no registry, no loader, no SQL), so a bug there cannot hide by being repeated here.
"""

import csv
import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")
CUSTOMER_TYPES = {"REGULAR": "Regular", "REG": "Regular", "R": "Regular", "PREMIUM": "Premium",
                  "PREM": "Premium", "P": "Premium", "VIP": "VIP"}
# The seed the Silver model standardises countries with, read here as data; the rule is written below.
COUNTRY_ALIASES_CSV = Path(__file__).resolve().parent.parent / "sql" / "seeds" / "country_aliases.csv"
NO_COUNTRY = {"", "UNKNOWN", "N/A", "NONE"}


def _files(raw: Path, source: str) -> list[Path]:
    return sorted((raw / source).glob("*/*"))


def _int_or_reject(text: str):
    if text == "":
        return None
    return int(text)  # ValueError: the row does not type


def _title(text):
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split()) if text else None


def _latest_customer_rows(raw: Path) -> dict[str, dict]:
    """customer_id -> the CSV row of the latest version of each customer that Bronze accepts."""
    latest: dict[str, dict] = {}
    for path in _files(raw, "customers"):
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            for record in reader:
                if len(record) != len(header):
                    continue  # Bronze rejects it
                row = dict(zip(header, record))
                try:
                    _int_or_reject(row["age"]), _int_or_reject(row["total_purchases"])
                except ValueError:
                    continue  # Bronze rejects it
                if row["customer_id"].strip():
                    latest[row["customer_id"].strip()] = row
    return latest


def latest_customers(raw: Path) -> dict[str, str]:
    """customer_id -> customer_type of the latest version of each customer."""
    return {customer_id: CUSTOMER_TYPES.get(row["customer_type"].strip().upper(), "Unknown")
            for customer_id, row in _latest_customer_rows(raw).items()}


def _country_aliases() -> dict[str, str]:
    with open(COUNTRY_ALIASES_CSV, newline="", encoding="utf-8") as handle:
        return {row["alias"]: row["country"] for row in csv.DictReader(handle)}


def latest_customer_countries(raw: Path) -> dict[str, str | None]:
    """customer_id -> country of the latest version of each customer: a known spelling becomes its
    country, a placeholder ('Unknown', 'N/A', empty) becomes None, anything else is title-cased."""
    aliases = _country_aliases()

    def standard(text: str) -> str | None:
        spelling = text.strip().upper()
        if spelling in aliases:
            return aliases[spelling]
        return None if spelling in NO_COUNTRY else _title(text)

    return {customer_id: standard(row["country"]) for customer_id, row in _latest_customer_rows(raw).items()}


def _latest_product_records(raw: Path) -> dict[str, dict]:
    """product_id -> the JSON record of the latest version of each product that Bronze accepts."""
    latest: dict[str, dict] = {}
    for path in _files(raw, "products"):
        for record in json.loads(path.read_text()):
            price = record.get("price")
            try:
                price is None or Decimal(str(price))
            except InvalidOperation:
                continue  # Bronze rejects it
            if record.get("product_id"):
                latest[record["product_id"].strip()] = record
    return latest


def latest_products(raw: Path) -> dict[str, tuple]:
    """product_id -> (product_name, category) of the latest version of each product."""
    return {product_id: (_title(record["name"]), _title(record["category"]))
            for product_id, record in _latest_product_records(raw).items()}


def _stock(value) -> int | None:
    """stock_quantity as a number or as text; negative counts as 0, anything not an integer as None."""
    if value is None:
        return None
    try:
        return max(int(str(value).strip()), 0)
    except ValueError:
        return None


def latest_product_stock(raw: Path) -> dict[str, int | None]:
    """product_id -> stock_quantity of the latest version of each product."""
    return {product_id: _stock(record.get("stock_quantity"))
            for product_id, record in _latest_product_records(raw).items()}


def _parse_timestamp(text):
    if text is None:
        return None
    for fmt in TIMESTAMP_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def valid_transactions(raw: Path) -> pd.DataFrame:
    """The latest version of each transaction id, kept only when amount, quantity and date are usable."""
    frames = [pq.read_table(p).to_pandas() for p in _files(raw, "transactions")]
    rows = pd.concat(frames, ignore_index=True)
    for key in ("transaction_id", "customer_id", "product_id"):
        rows[key] = rows[key].str.strip().replace("", None)
    rows = rows[rows["transaction_id"].notna()]
    latest = rows.drop_duplicates("transaction_id", keep="last").copy()
    latest["transaction_at"] = [_parse_timestamp(t) for t in latest["transaction_date"]]
    latest["cents"] = (latest["total_amount"] * 100).round().astype("Int64")
    usable = latest[(latest["cents"] > 0) & (latest["quantity"] > 0) & latest["transaction_at"].notna()].copy()
    usable["transaction_date"] = [t.date() for t in usable["transaction_at"]]
    return usable


def sales_enriched(raw: Path) -> pd.DataFrame:
    sales = valid_transactions(raw)
    customers = latest_customers(raw)
    products = latest_products(raw)
    sales["customer_type"] = [customers.get(c, "Unknown") for c in sales["customer_id"]]
    sales["product_name"] = [products.get(p, (None, None))[0] for p in sales["product_id"]]
    sales["product_category"] = [products.get(p, (None, None))[1] for p in sales["product_id"]]
    return sales


def daily_sales(raw: Path) -> pd.DataFrame:
    keys = ["transaction_date", "product_id", "product_name", "product_category", "customer_id", "customer_type"]
    grouped = sales_enriched(raw).groupby(keys, dropna=False).agg(
        total_quantity=("quantity", "sum"), total_cents=("cents", "sum"),
        num_transactions=("transaction_id", "nunique"))
    return grouped.reset_index()


def customer_product_affinity(raw: Path) -> pd.DataFrame:
    sales = sales_enriched(raw)
    sales["purchase_month"] = [d.replace(day=1) for d in sales["transaction_date"]]
    keys = ["customer_id", "customer_type", "product_id", "product_name", "product_category", "purchase_month"]
    grouped = sales.groupby(keys, dropna=False).agg(
        purchase_count=("transaction_id", "nunique"), total_quantity=("quantity", "sum"),
        total_cents=("cents", "sum"), first=("transaction_date", "min"), last=("transaction_date", "max"))
    grouped["days_between_first_last_purchase"] = [(b - a).days for a, b in zip(grouped["first"], grouped["last"])]
    return grouped.reset_index().drop(columns=["first", "last"])


def as_of_date(raw: Path):
    """The latest date of a usable transaction: the day the Gold views measure recency and demand to."""
    return valid_transactions(raw)["transaction_date"].max()


def sales_by_country(raw: Path) -> pd.DataFrame:
    sales = sales_enriched(raw)
    countries = latest_customer_countries(raw)
    sales["country"] = [countries.get(c) or "Unknown" for c in sales["customer_id"]]
    grouped = sales.groupby("country").agg(
        total_cents=("cents", "sum"), number_of_sales=("transaction_id", "nunique"),
        number_of_customers=("customer_id", "nunique"))
    return grouped.reset_index()


def top_products(raw: Path) -> pd.DataFrame:
    """Products that sold, ranked 1..n by revenue, ties going to the smaller product_id."""
    sales = sales_enriched(raw)
    sales = sales[sales["product_id"].notna()].rename(columns={"product_category": "category"})
    grouped = sales.groupby(["product_id", "product_name", "category"], dropna=False).agg(
        total_quantity_sold=("quantity", "sum"), total_cents=("cents", "sum")).reset_index()
    ranked = grouped.sort_values(["total_cents", "product_id"], ascending=[False, True])
    ranked["revenue_rank"] = range(1, len(ranked) + 1)
    return ranked.reset_index(drop=True)


def client_activity(raw: Path) -> pd.DataFrame:
    sales = sales_enriched(raw)
    grouped = sales[sales["customer_id"].notna()].groupby(["customer_id", "customer_type"]).agg(
        number_of_purchases=("transaction_id", "nunique"), total_cents=("cents", "sum"),
        last_purchase_date=("transaction_date", "max"))
    return grouped.reset_index()


def _thirds(values: pd.Series, better_is_larger: bool) -> pd.Series:
    """1, 2 or 3: the third of the customers, lined up worst to best, a value lies in, judged by the
    share of customers whose value is no better (ties included); equal values score alike."""
    no_better = values.rank(method="max", ascending=better_is_larger).astype(int)
    customers = len(values)
    return pd.Series([1 if 3 * k <= customers else 2 if 3 * k <= 2 * customers else 3 for k in no_better],
                     index=values.index)


def _rfm_segment(recency: int, frequency: int, monetary: int) -> str:
    if recency == 3:
        if frequency == 3:
            return "Champions"
        if frequency == 1:
            return "New"
    if recency == 1:
        return "At Risk" if frequency >= 2 else "Hibernating"
    return "Loyal" if frequency == 3 or monetary == 3 else "Other"


def customer_sales_report(raw: Path) -> pd.DataFrame:
    """Per customer: purchases, revenue, RFM scores (thirds, 3 best) and segment, as of the latest sale."""
    sales = sales_enriched(raw)
    as_of = sales["transaction_date"].max()
    report = sales[sales["customer_id"].notna()].groupby("customer_id").agg(
        first_purchase_date=("transaction_date", "min"), last_purchase_date=("transaction_date", "max"),
        orders=("transaction_id", "nunique"), total_cents=("cents", "sum")).reset_index()
    report["as_of_date"] = as_of
    report["recency_days"] = [(as_of - last).days for last in report["last_purchase_date"]]
    report["recency_score"] = _thirds(report["recency_days"], better_is_larger=False)
    report["frequency_score"] = _thirds(report["orders"], better_is_larger=True)
    report["monetary_score"] = _thirds(report["total_cents"], better_is_larger=True)
    report["rfm_segment"] = [_rfm_segment(r, f, m) for r, f, m in
                             zip(report["recency_score"], report["frequency_score"], report["monetary_score"])]
    return report


def inventory_status(raw: Path) -> pd.DataFrame:
    """Per catalogue product: stock against the units sold in the 30 days ending at the as-of date.
    Ratios are exact Fractions; a product is low on stock when stock is 0 or unknown, or covers < 7 days."""
    sales = valid_transactions(raw)
    as_of = sales["transaction_date"].max()
    window = sales[[as_of - timedelta(days=29) <= d <= as_of for d in sales["transaction_date"]]]
    units = window.groupby("product_id")["quantity"].sum()
    stock = latest_product_stock(raw)
    rows = []
    for product_id, (product_name, category) in latest_products(raw).items():
        sold = int(units.get(product_id, 0))
        days_of_cover = Fraction(stock[product_id] * 30, sold) if sold and stock[product_id] is not None else None
        rows.append({
            "product_id": product_id, "product_name": product_name, "category": category,
            "stock_quantity": stock[product_id], "as_of_date": as_of, "units_sold_30d": sold,
            "avg_daily_units_30d": Fraction(sold, 30), "days_of_cover": days_of_cover,
            "is_low_stock": stock[product_id] in (None, 0) or (days_of_cover is not None and days_of_cover < 7),
        })
    return pd.DataFrame(rows)
