"""Synthetic e-commerce feeds, dirty the way real feeds are, at any scale.

Faker supplies the vocabularies once (names, cities, companies, words); numpy draws every row from
them, so volume costs vectorised sampling rather than a Faker call per row (~7k rows/s). The output
is deterministic for a seed and written in the landing layout `<source>/<YYYY-MM-DD>/<file>`, one
file per source per day, so the same tree can be copied into a landing zone as daily arrivals.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from medallion_platform.sources import get_source
from medallion_platform.sql_text import sql_literal

# scale 1.0 is the size of the seed systems' production feeds
ROWS_AT_SCALE_1 = {
    "customers": 5_000_000,
    "products": 100_000,
    "transactions": 20_000_000,
    "events": 20_000_000,
}


@dataclass(frozen=True)
class DirtyRates:
    """Share of rows carrying each defect the seed systems' feeds are known to carry."""

    bad_email: float = 0.03  # empty or malformed
    bad_age: float = 0.02  # -1 or 200
    unknown_country: float = 0.02  # 'Unknown' or empty
    negative_total_purchases: float = 0.01
    bad_registration_date: float = 0.01  # empty, malformed or in the future
    missing_id: float = 0.002  # customers and transactions without their id
    negative_price: float = 0.01
    stock_as_string: float = 0.10  # "12" instead of 12; a few are not numbers at all
    bad_amount: float = 0.005  # total_amount <= 0
    bad_quantity: float = 0.002  # quantity <= 0
    bad_transaction_date: float = 0.005  # null or malformed
    duplicate: float = 0.02  # later versions of records already sent
    orphan_fk: float = 0.005  # transactions naming an unknown customer or product
    late_arrival: float = 0.03  # transactions dated the day before their file
    unparseable: float = 0.001  # rows Bronze cannot type or parse: "unknown" ages, broken lines, NaN amounts

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 0.5:
                raise ValueError(f"dirty rate {name}={value} must be between 0 and 0.5")

    @classmethod
    def none(cls) -> "DirtyRates":
        """No defects: for benchmarks that must know exactly which rows reach Gold."""
        return cls(**{name: 0.0 for name in asdict(cls())})


@dataclass(frozen=True)
class GenerateConfig:
    scale: float = 0.001
    seed: int = 42
    days: int = 3
    start_date: date = date(2026, 11, 20)
    dirty: DirtyRates = field(default_factory=DirtyRates)

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 10:
            raise ValueError(f"scale={self.scale} must be in (0, 10]")
        if not 1 <= self.days <= 366:
            raise ValueError(f"days={self.days} must be between 1 and 366")

    def rows(self, source: str) -> int:
        minimum = 20 if source == "products" else 50
        return max(minimum, round(ROWS_AT_SCALE_1[source] * self.scale))

    @property
    def batch_dates(self) -> list[date]:
        return [self.start_date + timedelta(days=d) for d in range(self.days)]


@dataclass(frozen=True)
class GeneratedFile:
    source: str
    batch_date: date
    key: str  # `<source>/<YYYY-MM-DD>/<file name>`, relative to the output folder
    rows: int


CUSTOMER_TYPE_SPELLINGS = {
    "Regular": ["Regular", "REGULAR", "regular", "Reg", "REG", "R"],
    "Premium": ["Premium", "PREMIUM", "Prem", "PREM", "P", " premium "],
    "VIP": ["VIP", "vip", "Vip", " VIP "],
}
COUNTRY_SPELLINGS = {
    "United States": ["United States", "USA", "usa", "U.S.A.", "US", "united states "],
    "United Kingdom": ["United Kingdom", "UK", "U.K.", "united kingdom"],
    "Germany": ["Germany", "germany", "DE"],
    "France": ["France", "france "],
    "Spain": ["Spain", "ES"],
    "Canada": ["Canada", "CA"],
    "Mexico": ["Mexico", "México"],
    "Brazil": ["Brazil", "Brasil"],
    "Japan": ["Japan"],
    "Australia": ["Australia", "AU"],
}
GENDER_SPELLINGS = ["M", "F", "Male", "Female", "male", "female", "MALE", "FEMALE", "Other", "", "X"]
CATEGORIES = ["Electronics", "Home & Kitchen", "Clothing", "Sports", "Books", "Toys", "Beauty", "Garden"]
PAYMENT_METHODS = ["Credit Card", "Debit Card", "PayPal", "Cash", "Gift Card", "Bank Transfer"]
STORE_TYPES = ["Online", "Physical Store"]
EVENT_TYPES = ["page_view", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase"]
DEVICE_TYPES = ["desktop", "mobile", "tablet"]
OPERATING_SYSTEMS = ["Windows", "macOS", "iOS", "Android", "Linux"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]


class _Vocab:
    """Word lists drawn once from Faker, so rows can be sampled from them with numpy."""

    def __init__(self, seed: int):
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first_names = np.array(sorted({fake.first_name() for _ in range(600)}), dtype=object)
        self.last_names = np.array(sorted({fake.last_name() for _ in range(600)}), dtype=object)
        self.cities = np.array(sorted({fake.city() for _ in range(300)}), dtype=object)
        self.brands = np.array(sorted({fake.last_name() for _ in range(150)}), dtype=object)
        self.adjectives = np.array(sorted({fake.word().title() for _ in range(400)}), dtype=object)
        self.nouns = np.array(sorted({fake.word().title() for _ in range(400)}), dtype=object)
        self.domains = np.array(sorted({fake.free_email_domain() for _ in range(50)}), dtype=object)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    text = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return np.array([prefix + s for s in text.to_pylist()], dtype=object)


def _mask(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _pick(rng: np.random.Generator, values, n: int, p=None) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p)]


def _spell(rng: np.random.Generator, canonical: np.ndarray, spellings: dict[str, list[str]]) -> np.ndarray:
    """Replace each canonical value by one of its spellings, as different source systems write it."""
    out = canonical.copy()
    for value, variants in spellings.items():
        where = np.flatnonzero(canonical == value)
        out[where] = _pick(rng, variants, len(where))
    return out


def _daily_chunks(n: int, days: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n), days)


class Generator:
    def __init__(self, config: GenerateConfig):
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.vocab = _Vocab(config.seed)
        self.n_customers = config.rows("customers")
        self.n_products = config.rows("products")
        self.customer_ids = _ids("C", np.arange(1, self.n_customers + 1), max(7, len(str(self.n_customers))))
        self.product_ids = _ids("P", np.arange(1, self.n_products + 1), max(5, len(str(self.n_products))))
        self.product_prices = np.round(np.exp(self.rng.normal(3.5, 0.9, self.n_products)).clip(1, 2000), 2)

    # --- customers -----------------------------------------------------------------------------
    def customers(self, idx: np.ndarray, revision: int) -> pd.DataFrame:
        rng, v, d = self.rng, self.vocab, self.config.dirty
        n = len(idx)
        first = _pick(rng, v.first_names, n)
        last = _pick(rng, v.last_names, n)
        name = first + " " + last
        messy_name = _mask(rng, n, 0.05)
        name[messy_name] = np.array(["  " + s.lower() + " " for s in name[messy_name]], dtype=object)

        email = np.array(
            [f"{f}.{l}{i}@{dom}".lower() for f, l, i, dom in zip(first, last, idx, _pick(rng, v.domains, n))],
            dtype=object,
        )
        bad = _mask(rng, n, d.bad_email)
        email[bad] = _pick(rng, ["", "not-an-email", "jane.doe@", "@example.com", "john@@example.com",
                                 "mary.smith.example.com", "bob@example"], int(bad.sum()))
        upper = _mask(rng, n, 0.05) & ~bad
        email[upper] = np.array([" " + e.upper() for e in email[upper]], dtype=object)

        country = _spell(rng, _pick(rng, list(COUNTRY_SPELLINGS), n, p=_zipf(len(COUNTRY_SPELLINGS))),
                         COUNTRY_SPELLINGS)
        unknown = _mask(rng, n, d.unknown_country)
        country[unknown] = _pick(rng, ["Unknown", "", "unknown"], int(unknown.sum()))

        canonical_type = _pick(rng, ["Regular", "Premium", "VIP"], n, p=[0.6, 0.3, 0.1])
        customer_type = _spell(rng, canonical_type, CUSTOMER_TYPE_SPELLINGS)
        junk_type = _mask(rng, n, 0.01)
        customer_type[junk_type] = _pick(rng, ["", "N/A", "Gold"], int(junk_type.sum()))

        registered = pd.Timestamp(self.config.start_date) - pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
        registration_date = np.asarray(pd.DatetimeIndex(registered).strftime("%Y-%m-%d"), dtype=object)
        bad = _mask(rng, n, d.bad_registration_date)
        registration_date[bad] = _pick(rng, ["", "2021-02-30", "not a date", "2031-01-01"], int(bad.sum()))

        age = rng.integers(18, 86, n)
        bad = _mask(rng, n, d.bad_age)
        age[bad] = _pick(rng, [-1, 200], int(bad.sum())).astype(np.int64)

        age = age.astype(object)
        garbage = _mask(rng, n, d.unparseable)
        age[garbage] = _pick(rng, ["unknown", "thirty", "4O"], int(garbage.sum()))

        total_purchases = rng.integers(0, 100, n) + revision
        neg = _mask(rng, n, d.negative_total_purchases)
        total_purchases[neg] = -rng.integers(1, 10, int(neg.sum()))

        customer_id = self.customer_ids[idx].copy()
        missing = _mask(rng, n, d.missing_id)
        customer_id[missing] = ""
        return pd.DataFrame({
            "customer_id": customer_id,
            "name": name,
            "email": email,
            "country": country,
            "customer_type": customer_type,
            "registration_date": registration_date,
            "age": age,
            "gender": _pick(rng, GENDER_SPELLINGS, n),
            "total_purchases": total_purchases,
        })

    # --- products ------------------------------------------------------------------------------
    def products(self, idx: np.ndarray, revision: int) -> pd.DataFrame:
        rng, v, d = self.rng, self.vocab, self.config.dirty
        n = len(idx)
        name = _pick(rng, v.adjectives, n) + " " + _pick(rng, v.nouns, n)
        messy = _mask(rng, n, 0.05)
        name[messy] = np.array([" " + s.lower() for s in name[messy]], dtype=object)
        category = _pick(rng, CATEGORIES, n)
        messy = _mask(rng, n, 0.05)
        category[messy] = np.array([c.upper() + " " for c in category[messy]], dtype=object)

        price = self.product_prices[idx] * (1 + 0.05 * revision)
        neg = _mask(rng, n, d.negative_price)
        price[neg] = -price[neg]

        stock = rng.integers(-3, 500, n).astype(object)  # a few negative counts, as inventories have
        as_string = _mask(rng, n, d.stock_as_string)
        stock[as_string] = np.array([str(s) for s in stock[as_string]], dtype=object)
        not_number = _mask(rng, n, d.stock_as_string / 10)
        stock[not_number] = _pick(rng, ["N/A", "out of stock", ""], int(not_number.sum()))

        price = np.round(price, 2).astype(object)
        garbage = _mask(rng, n, d.unparseable)
        price[garbage] = _pick(rng, ["N/A", "12,99", "free"], int(garbage.sum()))

        rating = np.round(rng.uniform(1, 5, n), 1)
        out_of_range = _mask(rng, n, 0.005)
        rating[out_of_range] = _pick(rng, [-1.0, 6.5, 10.0], int(out_of_range.sum())).astype(float)
        return pd.DataFrame({
            "product_id": self.product_ids[idx],
            "name": name,
            "category": category,
            "brand": _pick(rng, v.brands, n),
            "price": price,
            "stock_quantity": stock,
            "rating": rating,
            "is_active": rng.random(n) > 0.05,
        })

    # --- transactions --------------------------------------------------------------------------
    def transactions(self, first_number: int, n: int, day: date) -> pd.DataFrame:
        rng, d = self.rng, self.config.dirty
        numbers = np.arange(first_number, first_number + n)
        transaction_id = _ids("TRX", numbers, max(6, len(str(self.config.rows("transactions")))))
        customer = rng.integers(0, self.n_customers, n)
        product = rng.integers(0, self.n_products, n)
        customer_id = self.customer_ids[customer].copy()
        product_id = self.product_ids[product].copy()
        orphan = _mask(rng, n, d.orphan_fk)
        customer_id[orphan] = _ids("C", self.n_customers + 1 + rng.integers(0, 10**6, int(orphan.sum())), 9)
        orphan = _mask(rng, n, d.orphan_fk)
        product_id[orphan] = _ids("P", self.n_products + 1 + rng.integers(0, 10**6, int(orphan.sum())), 9)

        quantity = rng.integers(1, 6, n)
        bad_q = _mask(rng, n, d.bad_quantity)
        quantity[bad_q] = _pick(rng, [0, -1], int(bad_q.sum())).astype(np.int64)
        discount = rng.choice([1.0, 1.0, 1.0, 0.9, 0.8], n)
        total_amount = np.round(np.abs(quantity) * self.product_prices[product] * discount, 2)
        bad = _mask(rng, n, d.bad_amount)
        total_amount[bad] = _pick(rng, [0.0, -1.0, -49.99], int(bad.sum())).astype(float)
        total_amount[_mask(rng, n, d.unparseable)] = np.nan

        day_offset = np.where(_mask(rng, n, d.late_arrival), -1, 0)
        moment = (pd.Timestamp(day) + pd.to_timedelta(day_offset, unit="D")
                  + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"))
        moment = pd.DatetimeIndex(moment)
        transaction_date = np.asarray(moment.strftime("%Y-%m-%d %H:%M:%S"), dtype=object)
        # Feeds from different store systems write the same instant differently.
        iso_t = _mask(rng, n, 0.10)
        transaction_date[iso_t] = np.asarray(moment[iso_t].strftime("%Y-%m-%dT%H:%M:%S"), dtype=object)
        slashed = _mask(rng, n, 0.05)
        transaction_date[slashed] = np.asarray(moment[slashed].strftime("%Y/%m/%d %H:%M:%S"), dtype=object)
        date_only = _mask(rng, n, 0.05)
        transaction_date[date_only] = np.asarray(moment[date_only].strftime("%Y-%m-%d"), dtype=object)
        bad = _mask(rng, n, d.bad_transaction_date)
        transaction_date[bad] = _pick(rng, [None, "", "2026-13-45 10:00:00", "yesterday", "N/A"], int(bad.sum()))

        missing = _mask(rng, n, d.missing_id)
        transaction_id[missing] = None
        return pd.DataFrame({
            "transaction_id": transaction_id,
            "customer_id": customer_id,
            "product_id": product_id,
            "quantity": quantity.astype(np.int32),
            "total_amount": total_amount,
            "transaction_date": transaction_date,
            "payment_method": _pick(rng, PAYMENT_METHODS, n),
            "store_type": _pick(rng, STORE_TYPES, n, p=[0.7, 0.3]),
        })

    # --- events --------------------------------------------------------------------------------
    def events(self, first_number: int, n: int, day: date) -> pa.Table:
        rng, v = self.rng, self.vocab
        event_type = _pick(rng, EVENT_TYPES, n, p=[0.5, 0.15, 0.15, 0.05, 0.08, 0.07])
        moment = pd.DatetimeIndex(pd.Timestamp(day) + pd.to_timedelta(rng.integers(0, 86_400_000, n), unit="ms"))
        customer_id = self.customer_ids[rng.integers(0, self.n_customers, n)]
        anonymous = _mask(rng, n, 0.3)
        product = self.product_ids[rng.integers(0, self.n_products, n)]
        has_cart = np.isin(event_type, ["add_to_cart", "remove_from_cart", "checkout", "purchase"])
        cart_items = rng.integers(1, 6, n)
        cart = pa.StructArray.from_arrays(
            [pa.array(cart_items), pa.array(np.round(cart_items * rng.uniform(5, 300, n), 2)),
             pa.array(product.tolist())],
            names=["items", "value", "product_id"],
            mask=pa.array(~has_cart),
        )
        return pa.table({
            "event_id": _ids("EVT", np.arange(first_number, first_number + n), 9).tolist(),
            "event_type": event_type.tolist(),
            "event_timestamp": list(moment.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"),
            "customer_id": pa.array(customer_id.tolist(), mask=anonymous),
            "session_id": _ids("S", rng.integers(1, max(2, n // 5), n), 8).tolist(),
            "device": pa.StructArray.from_arrays(
                [pa.array(_pick(rng, DEVICE_TYPES, n).tolist()), pa.array(_pick(rng, OPERATING_SYSTEMS, n).tolist()),
                 pa.array(_pick(rng, BROWSERS, n).tolist())],
                names=["type", "os", "browser"]),
            "geo": pa.StructArray.from_arrays(
                [pa.array(_pick(rng, list(COUNTRY_SPELLINGS), n).tolist()), pa.array(_pick(rng, v.cities, n).tolist())],
                names=["country", "city"]),
            "page": pa.StructArray.from_arrays(
                [pa.array(["/products/" + p for p in product]),
                 pa.array(_pick(rng, ["google", "direct", "email", "facebook", None], n).tolist())],
                names=["url", "referrer"]),
            "cart": cart,
        })

    def broken_lines(self, source: str, rows: int) -> list[str]:
        """Lines no parser accepts (cut-off writes, stray quotes), appended to text feeds."""
        k = int(self.rng.binomial(rows, self.config.dirty.unparseable))
        if source == "customers":
            # a field with an unquoted comma (too many columns) or a line cut short (too few)
            return [f"C9{i:07d},Doe, Jane,jane{i}@example.com,USA,Regular,2024-01-01,30,F,3" if i % 2 == 0
                    else f"C9{i:07d},Cut Short" for i in range(k)]
        if source == "events":
            return [f'{{"event_id":"EVTBROKEN{i}","event_type":"page_view","device":{{"type":' for i in range(k)]
        return []

    def _with_duplicates(self, frame: pd.DataFrame, rows_so_far: int, make) -> pd.DataFrame:
        """Append later versions of records already sent, so the newest must win downstream."""
        k = int(round(len(frame) * self.config.dirty.duplicate))
        if k == 0 or rows_so_far == 0:
            return frame
        again = self.rng.integers(0, rows_so_far, k)
        return pd.concat([frame, make(again)], ignore_index=True)


def _zipf(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


def generate(config: GenerateConfig, out_dir: Path) -> list[GeneratedFile]:
    """Write one file per source per day under `out_dir`; return what was written."""
    gen = Generator(config)
    files: list[GeneratedFile] = []
    dates = config.batch_dates

    def write(source: str, day: date, frame) -> None:
        key = f"{source}/{day.isoformat()}/{source}_{day.strftime('%Y%m%d')}{get_source(source).file_suffix}"
        files.append(GeneratedFile(source, day, key, _write_feed(gen, source, frame, out_dir / key)))

    customer_chunks = _daily_chunks(gen.n_customers, config.days)
    seen = 0
    for day_number, (day, chunk) in enumerate(zip(dates, customer_chunks)):
        frame = gen.customers(chunk, revision=0)
        seen += len(chunk)
        frame = gen._with_duplicates(frame, seen, lambda again, r=day_number: gen.customers(again, revision=r + 1))
        write("customers", day, frame)

    # The catalogue arrives whole on the first day; later days re-send a slice with new prices.
    all_products = np.arange(gen.n_products)
    for day_number, day in enumerate(dates):
        if day_number == 0:
            frame = gen.products(all_products, revision=0)
        else:
            changed = max(1, gen.n_products // 20)
            frame = gen.products(np.sort(gen.rng.choice(all_products, changed, replace=False)), revision=day_number)
        write("products", day, frame)

    number = 1
    for day, chunk in zip(dates, _daily_chunks(config.rows("transactions"), config.days)):
        frame = gen.transactions(number, len(chunk), day)
        sent = number - 1 + len(chunk)
        frame = gen._with_duplicates(
            frame, sent, lambda again, d=day: _resend_transactions(gen, again, d))
        number += len(chunk)
        write("transactions", day, frame)

    number = 1
    for day, chunk in zip(dates, _daily_chunks(config.rows("events"), config.days)):
        write("events", day, gen.events(number, len(chunk), day))
        number += len(chunk)

    manifest = {"config": _jsonable(asdict(config)), "files": [_jsonable(asdict(f)) for f in files]}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return files


# A dropped row's number is its drop's number (milliseconds since the epoch when the drop was made)
# times MAX_DROP_ROWS plus its index in the drop: TRX1781234567890000042 is row 42 of drop
# 1781234567890. The demo numbers rows from 1 and has at most 200M of a source (scale 10, 9 digits);
# these numbers have 19 digits, so they never meet the demo's, and drops made at least a millisecond
# apart never meet each other. 19 digits still fit the int64 the id formatting goes through.
MAX_DROP_ROWS = 1_000_000
ID_PREFIXES = {"customers": "C", "products": "P", "transactions": "TRX", "events": "EVT"}


def drop_batch(config: GenerateConfig, source: str, rows: int, day: date, out_dir: Path,
               drop_number: int | None = None) -> GeneratedFile:
    """One more file for `source` on `day`, written under `out_dir` as
    `<source>/<day>/<source>_<YYYYMMDD>_drop<drop number><suffix>`: a feed's next delivery after the demo.

    Rows come from the Generator's own row functions with the demo's scale and seed, so customer and
    product ids, prices and vocabularies are the demo's; each drop draws its rows from its own random
    stream, and every record is new (no re-sent versions), under an id no earlier drop or demo file
    has (see MAX_DROP_ROWS). `config.dirty` decides the dirt; DirtyRates.none() gives a file whose
    every row reaches Silver.
    """
    if not 1 <= rows <= MAX_DROP_ROWS:
        raise ValueError(f"rows={rows} must be between 1 and {MAX_DROP_ROWS:,}")
    spec = get_source(source)
    if drop_number is None:
        drop_number = time.time_ns() // 1_000_000
    gen = Generator(replace(config, start_date=day))  # customers register before the day they arrive
    # Prices were drawn from the seed when the Generator was made, as for the demo; the rows are not.
    gen.rng = np.random.default_rng([config.seed, drop_number])
    first_number = drop_number * MAX_DROP_ROWS
    if source == "transactions":
        frame = gen.transactions(first_number, rows, day)
    elif source == "events":
        frame = gen.events(first_number, rows, day)
    else:
        existing = gen.n_customers if source == "customers" else gen.n_products
        make = gen.customers if source == "customers" else gen.products
        frame = make(gen.rng.integers(0, existing, rows), revision=0)
        frame[spec.primary_key] = _new_ids(frame[spec.primary_key].to_numpy(), ID_PREFIXES[source], first_number)
    key = f"{source}/{day.isoformat()}/{source}_{day.strftime('%Y%m%d')}_drop{drop_number}{spec.file_suffix}"
    return GeneratedFile(source, day, key, _write_feed(gen, source, frame, out_dir / key))


def _new_ids(sampled: np.ndarray, prefix: str, first_number: int) -> np.ndarray:
    """New ids for rows whose values were sampled from existing records; rows the dirt left without an
    id keep their empty id."""
    fresh = _ids(prefix, np.arange(first_number, first_number + len(sampled)), 1)
    return np.where(sampled == "", "", fresh)


def _write_feed(gen: Generator, source: str, frame, path: Path) -> int:
    """Write a feed file, then append the lines no parser accepts as the real feeds carry them; return
    the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_file(get_source(source).format, frame, path)
    broken = gen.broken_lines(source, len(frame))
    if broken:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write("\n".join(broken) + "\n")
    return len(frame) + len(broken)


def _resend_transactions(gen: Generator, already_sent: np.ndarray, day: date) -> pd.DataFrame:
    """Corrections of earlier transactions: same ids, freshly drawn values, sent again today."""
    frame = gen.transactions(1, len(already_sent), day)
    frame["transaction_id"] = _ids("TRX", already_sent + 1, max(6, len(str(gen.config.rows("transactions")))))
    return frame


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _write_file(fmt: str, frame, path: Path) -> None:
    """Write with DuckDB's writers: fast, and exactly the dialects the Bronze readers expect."""
    con = duckdb.connect()
    try:
        relation = "SELECT * FROM frame"
        if isinstance(frame, pd.DataFrame):
            mixed = [c for c in frame if frame[c].dtype == object
                     and not all(isinstance(v, str) or v is None for v in frame[c])]
            if fmt == "csv":  # CSV has only text: write numbers and words alike as they read
                frame = frame.assign(**{c: frame[c].astype(str) for c in mixed})
            elif mixed:  # JSON keeps each value's own type, so "12" stays a string and 12 a number
                frame = frame.assign(**{c: [json.dumps(_plain(v)) for v in frame[c]] for c in mixed})
                relation = f"SELECT * REPLACE ({', '.join(f'{c}::JSON AS {c}' for c in mixed)}) FROM frame"
        con.register("frame", frame)
        options = {
            "csv": "FORMAT CSV, HEADER true, DELIMITER ',', QUOTE '\"'",
            "json": "FORMAT JSON, ARRAY true",
            "jsonl": "FORMAT JSON",
            "parquet": "FORMAT PARQUET, COMPRESSION zstd",
        }[fmt]
        con.execute(f"COPY ({relation}) TO {sql_literal(str(path))} ({options})")
    finally:
        con.close()
