"""An independent computation of Silver and Gold from the raw feed files, for the tests to compare with.

Written with the Python standard library and pandas straight from the files, sharing no code with the
pipeline (no registry, no loader, no SQL), so a bug there cannot hide by being repeated here.
"""

import csv
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d")
CUSTOMER_TYPES = {"REGULAR": "Regular", "REG": "Regular", "R": "Regular", "PREMIUM": "Premium",
                  "PREM": "Premium", "P": "Premium", "VIP": "VIP"}


def _files(raw: Path, source: str) -> list[Path]:
    return sorted((raw / source).glob("*/*"))


def _int_or_reject(text: str):
    if text == "":
        return None
    return int(text)  # ValueError: the row does not type


def _title(text):
    return " ".join(w[:1].upper() + w[1:].lower() for w in text.split()) if text else None


def latest_customers(raw: Path) -> dict[str, str]:
    """customer_id -> customer_type of the latest version of each customer."""
    latest: dict[str, str] = {}
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
                    latest[row["customer_id"].strip()] = CUSTOMER_TYPES.get(
                        row["customer_type"].strip().upper(), "Unknown")
    return latest


def latest_products(raw: Path) -> dict[str, tuple]:
    """product_id -> (product_name, category) of the latest version of each product."""
    latest: dict[str, tuple] = {}
    for path in _files(raw, "products"):
        for record in json.loads(path.read_text()):
            price = record.get("price")
            try:
                price is None or Decimal(str(price))
            except InvalidOperation:
                continue  # Bronze rejects it
            if record.get("product_id"):
                latest[record["product_id"].strip()] = (_title(record["name"]), _title(record["category"]))
    return latest


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
    rows["transaction_id"] = rows["transaction_id"].str.strip().replace("", None)
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
