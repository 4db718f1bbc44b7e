"""Synthetic e-commerce feeds, dirty the way real feeds are, at any scale, in bounded memory.

Faker supplies the vocabularies once (names, cities, companies, words); numpy draws every row from
them and Arrow's string kernels write the text, so volume costs vectorised sampling rather than a
Python call per row. A file is built and written CHUNK_ROWS rows at a time, each chunk from its own
random stream: memory stays flat at any scale, chunks are built on every core while the file is
written, and the output is still deterministic for a seed. The layout is `<source>/<YYYY-MM-DD>/<file>`,
one file per source per day, so the same tree can be copied into a landing zone as daily arrivals.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from faker import Faker

from medallion_platform.settings import DEFAULT_FIRST_LANDING_DAY
from medallion_platform.sources import get_source

# scale 1.0 is the size of the seed systems' production feeds
ROWS_AT_SCALE_1 = {
    "customers": 5_000_000,
    "products": 100_000,
    "transactions": 20_000_000,
    "events": 20_000_000,
}

# Rows built at once. Part of what a seed means: each chunk draws from its own random stream.
CHUNK_ROWS = 100_000


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
    start_date: date = date.fromisoformat(DEFAULT_FIRST_LANDING_DAY)
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
BAD_EMAILS = ["", "not-an-email", "jane.doe@", "@example.com", "john@@example.com", "mary.smith.example.com",
              "bob@example"]
CATEGORIES = ["Electronics", "Home & Kitchen", "Clothing", "Sports", "Books", "Toys", "Beauty", "Garden"]
PAYMENT_METHODS = ["Credit Card", "Debit Card", "PayPal", "Cash", "Gift Card", "Bank Transfer"]
STORE_TYPES = ["Online", "Physical Store"]
EVENT_TYPES = ["page_view", "search", "add_to_cart", "remove_from_cart", "checkout", "purchase"]
EVENT_TYPE_SHARES = [0.5, 0.15, 0.15, 0.05, 0.08, 0.07]
CART_EVENTS = 2  # event types from add_to_cart on carry a cart
DEVICE_TYPES = ["desktop", "mobile", "tablet"]
OPERATING_SYSTEMS = ["Windows", "macOS", "iOS", "Android", "Linux"]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]
REFERRERS = ["google", "direct", "email", "facebook", None]

# Times of day as text, looked up rather than formatted row by row.
HOURS_MINUTES = pa.array([f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)])
SECONDS = pa.array([f"{s:02d}" for s in range(60)])
SECONDS_MILLIS = pa.array([f"{s:02d}.{ms:03d}" for s in range(60) for ms in range(1000)])
CENTS = pa.array([f"{c:02d}" for c in range(100)])

# Field metadata of a column that already holds JSON text: its values mix numbers and strings.
RAW_JSON = {b"json": b"raw"}
# The writers write values as they are, unquoted in CSV and unescaped in JSON strings, so every word
# drawn from Faker must be free of what would need quoting or escaping.
PLAIN = re.compile(r'[^,"\\\x00-\x1f]+')


def _words(draw: Callable[[], str], count: int) -> pa.Array:
    return pa.array(sorted({w for w in (draw() for _ in range(count)) if PLAIN.fullmatch(w)}))


class _Vocab:
    """Word lists drawn once from Faker, so rows can be sampled from them with numpy."""

    def __init__(self, seed: int):
        fake = Faker("en_US")
        fake.seed_instance(seed)
        self.first_names = _words(fake.first_name, 600)
        self.last_names = _words(fake.last_name, 600)
        self.cities = _words(fake.city, 300)
        self.brands = _words(fake.last_name, 150)
        self.adjectives = _words(lambda: fake.word().title(), 400)
        self.nouns = _words(lambda: fake.word().title(), 400)
        self.domains = _words(fake.free_email_domain, 50)


def _join(*pieces) -> pa.Array:
    """Concatenate row by row; a piece is a column, or one string for every row. Null if a piece is.

    Arrow's join pays per piece per row, so there are as few pieces as can be: words drawn from a
    vocabulary (dictionary columns) take in the literals beside them and, while small, each other, so
    `"type":"` + device type + `","os":"` + os is one lookup; then each run of pieces whose every row
    has the same width (literals, ids, times of day) is laid side by side as one matrix of bytes."""
    pieces = _folded(pieces)
    n = next(len(piece) for piece in pieces if isinstance(piece, pa.Array))
    joined: list = []
    run: list[tuple] = []  # (piece, its byte matrix)

    def end_run() -> None:
        if all(isinstance(piece, str) for piece, _ in run):
            joined.append("".join(piece for piece, _ in run))
        elif len(run) == 1:
            joined.append(run[0][0])
        else:
            joined.append(_text_of_matrix(np.concatenate([matrix for _, matrix in run], axis=1)))
        run.clear()

    for piece in pieces:
        matrix = _byte_matrix(piece, n)
        if matrix is not None:
            run.append((piece, matrix))
            continue
        if run:
            end_run()
        joined.append(piece)
    if run:
        end_run()
    return joined[0] if len(joined) == 1 else pc.binary_join_element_wise(*joined, "")


# A dictionary column takes in its neighbour while the two have at most this many combinations.
FOLD_LIMIT = 4096


def _foldable(piece) -> bool:
    return isinstance(piece, pa.DictionaryArray) and piece.null_count == 0 and len(piece.dictionary) <= FOLD_LIMIT


def _folded(pieces) -> list:
    """Literals folded into the dictionary columns beside them, and neighbouring small dictionary
    columns into one; every dictionary column then decoded to its text."""
    out: list = []
    for piece in pieces:
        last = out[-1] if out else None
        if (_foldable(last) and (isinstance(piece, str) or (
                _foldable(piece) and len(last.dictionary) * len(piece.dictionary) <= FOLD_LIMIT))) or (
                isinstance(last, str) and _foldable(piece)):
            out[-1] = _fold(last, piece)
        else:
            out.append(piece)
    return [piece.dictionary_decode() if isinstance(piece, pa.DictionaryArray) else piece for piece in out]


def _fold(left, right) -> pa.DictionaryArray:
    """`left` then `right` as one dictionary column: each entry one of left's followed by one of right's."""
    if isinstance(left, str):
        return pa.DictionaryArray.from_arrays(right.indices, pc.binary_join_element_wise(left, right.dictionary, ""))
    if isinstance(right, str):
        return pa.DictionaryArray.from_arrays(left.indices, pc.binary_join_element_wise(left.dictionary, right, ""))
    k, m = len(left.dictionary), len(right.dictionary)
    indices = left.indices.to_numpy().astype(np.int32) * m + right.indices.to_numpy()
    dictionary = pc.binary_join_element_wise(left.dictionary.take(np.repeat(np.arange(k), m)),
                                             right.dictionary.take(np.tile(np.arange(m), k)), "")
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), dictionary)


def _plain(column: pa.Array) -> pa.Array:
    """A dictionary column's text; any other column as it is."""
    return column.dictionary_decode() if isinstance(column, pa.DictionaryArray) else column


def _byte_matrix(piece, n: int) -> np.ndarray | None:
    """The piece as n rows of bytes, if every row has the same width; else None."""
    if isinstance(piece, str):
        return np.broadcast_to(np.frombuffer(piece.encode(), np.uint8), (n, len(piece.encode())))
    if piece.null_count or not pa.types.is_string(piece.type):
        return None
    offsets = np.frombuffer(piece.buffers()[1], np.int32)[piece.offset:piece.offset + n + 1]
    width = int(offsets[1] - offsets[0]) if n else 0
    if not np.array_equal(offsets, offsets[0] + width * np.arange(n + 1, dtype=np.int32)):
        return None
    return np.frombuffer(piece.buffers()[2], np.uint8, count=n * width, offset=int(offsets[0])).reshape(n, width)


def _text_of_matrix(matrix: np.ndarray) -> pa.Array:
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32) if width else np.zeros(n + 1, np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))


def _text(numbers: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(numbers, pa.int64()), pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return _join(prefix, pc.ascii_lpad(_text(numbers), width, "0"))


def _decimals(values: np.ndarray) -> pa.Array:
    """Numbers with two decimals (413.22, -12.30): a JSON reader types them all as doubles, as it
    would not `12`."""
    cents = np.round(np.asarray(values) * 100).astype(np.int64)
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return _join(sign, _text(np.abs(cents) // 100), ".", CENTS.take(np.abs(cents) % 100))


def _mask(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    return rng.random(n) < rate


def _pick(rng: np.random.Generator, values, n: int, p=None) -> pa.DictionaryArray:
    """Values drawn from a vocabulary, kept as indices into it until they are written."""
    values = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(rng.choice(len(values), size=n, p=p).astype(np.int32)), values)


def _put(column: pa.Array, where: np.ndarray, values: pa.Array) -> pa.Array:
    """The column with its values at `where` replaced by `values`, in order."""
    return pc.replace_with_mask(_plain(column), pa.array(where), _plain(values))


def _restyle(column: pa.Array, where: np.ndarray, style: Callable[[pa.Array], pa.Array]) -> pa.Array:
    column = _plain(column)
    return _put(column, where, style(column.filter(pa.array(where))))


def _swap(rng: np.random.Generator, column: pa.Array, rate: float, choices: list) -> pa.Array:
    """Replace about `rate` of the values by ones drawn from `choices`: a defect or a variant."""
    hit = _mask(rng, len(column), rate)
    drawn = rng.choice(len(choices), size=int(hit.sum()))
    if isinstance(column, pa.DictionaryArray):  # the choices join the vocabulary
        indices = column.indices.to_numpy().copy()
        indices[hit] = len(column.dictionary) + drawn
        words = pa.concat_arrays([column.dictionary, pa.array(choices, column.dictionary.type)])
        return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), words)
    return _put(column, hit, pa.array(choices, column.type).take(drawn))


def _spelled(rng: np.random.Generator, spellings: dict[str, list[str]], n: int, p=None) -> pa.Array:
    """Canonical values drawn with weights `p`, each written in one of its spellings, as different
    source systems write it."""
    canonical = rng.choice(len(spellings), size=n, p=p)
    counts = np.array([len(variants) for variants in spellings.values()])
    first = np.cumsum(counts) - counts
    variant = first[canonical] + (rng.random(n) * counts[canonical]).astype(np.int64)
    return pa.DictionaryArray.from_arrays(pa.array(variant.astype(np.int32)),
                                          pa.array([s for variants in spellings.values() for s in variants]))


def _zipf(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1)
    return weights / weights.sum()


class Generator:
    """Rows of each feed, built from a random stream the caller gives, so chunks are independent."""

    def __init__(self, config: GenerateConfig):
        self.config = config
        self.vocab = _Vocab(config.seed)
        self.n_customers = config.rows("customers")
        self.n_products = config.rows("products")
        self.customer_width = max(7, len(str(self.n_customers)))
        self.product_width = max(5, len(str(self.n_products)))
        self.transaction_width = max(6, len(str(config.rows("transactions"))))
        prices = np.random.default_rng(config.seed).normal(3.5, 0.9, self.n_products)
        self.product_prices = np.round(np.exp(prices).clip(1, 2000), 2)
        self.registration_dates = pa.array([(config.start_date - timedelta(days=d)).isoformat()
                                            for d in range(5 * 365)])

    # --- customers -----------------------------------------------------------------------------
    def customers(self, rng: np.random.Generator, idx: np.ndarray, revision: int) -> pa.RecordBatch:
        v, d, n = self.vocab, self.config.dirty, len(idx)
        first, last = _pick(rng, v.first_names, n), _pick(rng, v.last_names, n)
        name = _restyle(_join(first, " ", last), _mask(rng, n, 0.05),
                        lambda s: _join("  ", pc.utf8_lower(s), " "))

        email = pc.utf8_lower(_join(first, ".", last, _text(idx), "@", _pick(rng, v.domains, n)))
        bad = _mask(rng, n, d.bad_email)
        email = _put(email, bad, _pick(rng, BAD_EMAILS, int(bad.sum())))
        email = _restyle(email, _mask(rng, n, 0.05) & ~bad, lambda s: _join(" ", pc.utf8_upper(s)))

        country = _swap(rng, _spelled(rng, COUNTRY_SPELLINGS, n, p=_zipf(len(COUNTRY_SPELLINGS))),
                        d.unknown_country, ["Unknown", "", "unknown"])
        customer_type = _swap(rng, _spelled(rng, CUSTOMER_TYPE_SPELLINGS, n, p=[0.6, 0.3, 0.1]),
                              0.01, ["", "N/A", "Gold"])
        registration_date = _swap(rng, _pick(rng, self.registration_dates, n),
                                  d.bad_registration_date, ["", "2021-02-30", "not a date", "2031-01-01"])

        age = rng.integers(18, 86, n)
        bad = _mask(rng, n, d.bad_age)
        age[bad] = rng.choice([-1, 200], int(bad.sum()))
        total_purchases = rng.integers(0, 100, n) + revision
        neg = _mask(rng, n, d.negative_total_purchases)
        total_purchases[neg] = -rng.integers(1, 10, int(neg.sum()))
        return pa.RecordBatch.from_pydict({
            "customer_id": _swap(rng, _ids("C", idx + 1, self.customer_width), d.missing_id, [""]),
            "name": name,
            "email": email,
            "country": country,
            "customer_type": customer_type,
            "registration_date": registration_date,
            "age": _swap(rng, _text(age), d.unparseable, ["unknown", "thirty", "4O"]),
            "gender": _pick(rng, GENDER_SPELLINGS, n),
            "total_purchases": _text(total_purchases),
        })

    # --- products ------------------------------------------------------------------------------
    def products(self, rng: np.random.Generator, idx: np.ndarray, revision: int) -> pa.RecordBatch:
        v, d, n = self.vocab, self.config.dirty, len(idx)
        name = _restyle(_join(_pick(rng, v.adjectives, n), " ", _pick(rng, v.nouns, n)), _mask(rng, n, 0.05),
                        lambda s: _join(" ", pc.utf8_lower(s)))
        category = _restyle(_pick(rng, CATEGORIES, n), _mask(rng, n, 0.05),
                            lambda s: _join(pc.utf8_upper(s), " "))

        price = self.product_prices[idx] * (1 + 0.05 * revision)
        neg = _mask(rng, n, d.negative_price)
        price[neg] = -price[neg]
        price = _swap(rng, _decimals(np.round(price, 2)), d.unparseable, ['"N/A"', '"12,99"', '"free"'])

        # a few negative counts, as inventories have; some sent as strings, a few not numbers at all
        stock = _restyle(_text(rng.integers(-3, 500, n)), _mask(rng, n, d.stock_as_string),
                         lambda s: _join('"', s, '"'))
        stock = _swap(rng, stock, d.stock_as_string / 10, ['"N/A"', '"out of stock"', '""'])

        rating = np.round(rng.uniform(1, 5, n), 1)
        out_of_range = _mask(rng, n, 0.005)
        rating[out_of_range] = rng.choice([-1.0, 6.5, 10.0], int(out_of_range.sum()))
        return pa.RecordBatch.from_arrays(
            [_ids("P", idx + 1, self.product_width), name, category, _pick(rng, v.brands, n), price, stock,
             pa.array(rating), pa.array(rng.random(n) > 0.05)],
            schema=pa.schema([
                ("product_id", pa.string()), ("name", pa.string()), ("category", pa.string()),
                ("brand", pa.string()), pa.field("price", pa.string(), metadata=RAW_JSON),
                pa.field("stock_quantity", pa.string(), metadata=RAW_JSON), ("rating", pa.float64()),
                ("is_active", pa.bool_()),
            ]),
        )

    # --- transactions --------------------------------------------------------------------------
    def transactions(self, rng: np.random.Generator, numbers: np.ndarray, day: date,
                     ids_can_be_missing: bool = True) -> pa.RecordBatch:
        d, n = self.config.dirty, len(numbers)
        customer = rng.integers(0, self.n_customers, n)
        product = rng.integers(0, self.n_products, n)
        orphan = _mask(rng, n, d.orphan_fk)
        customer_id = _put(_ids("C", customer + 1, self.customer_width), orphan,
                           _ids("C", self.n_customers + 1 + rng.integers(0, 10**6, int(orphan.sum())), 9))
        orphan = _mask(rng, n, d.orphan_fk)
        product_id = _put(_ids("P", product + 1, self.product_width), orphan,
                          _ids("P", self.n_products + 1 + rng.integers(0, 10**6, int(orphan.sum())), 9))

        quantity = rng.integers(1, 6, n)
        bad = _mask(rng, n, d.bad_quantity)
        quantity[bad] = rng.choice([0, -1], int(bad.sum()))
        discount = rng.choice([1.0, 1.0, 1.0, 0.9, 0.8], n)
        total_amount = np.round(np.abs(quantity) * self.product_prices[product] * discount, 2)
        bad = _mask(rng, n, d.bad_amount)
        total_amount[bad] = rng.choice([0.0, -1.0, -49.99], int(bad.sum()))
        total_amount[_mask(rng, n, d.unparseable)] = np.nan

        # Feeds from different store systems write the same instant differently: one of four styles,
        # later ones drawn over earlier ones, for the file's day or (a late arrival) the day before.
        style = np.zeros(n, dtype=np.int64)
        for number, rate in enumerate([0.10, 0.05, 0.05], start=1):
            style[_mask(rng, n, rate)] = number
        late = _mask(rng, n, d.late_arrival)
        dates = [(day - timedelta(days=1 - on_day)) for on_day in (0, 1)]
        prefixes = pa.array([moment.strftime(form) for form in ("%Y-%m-%d ", "%Y-%m-%dT", "%Y/%m/%d ", "%Y-%m-%d")
                             for moment in dates])
        second = rng.integers(0, 86_400, n)
        clock = _join(HOURS_MINUTES.take(second // 60), ":", SECONDS.take(second % 60))
        transaction_date = _join(prefixes.take(style * 2 + ~late), pc.if_else(pa.array(style == 3), "", clock))
        transaction_date = _swap(rng, transaction_date, d.bad_transaction_date,
                                 [None, "", "2026-13-45 10:00:00", "yesterday", "N/A"])

        transaction_id = _ids("TRX", numbers, self.transaction_width)
        if ids_can_be_missing:
            transaction_id = _swap(rng, transaction_id, d.missing_id, [None])
        return pa.RecordBatch.from_pydict({
            "transaction_id": transaction_id,
            "customer_id": customer_id,
            "product_id": product_id,
            "quantity": pa.array(quantity.astype(np.int32)),
            "total_amount": pa.array(total_amount, from_pandas=True),  # the unparseable amounts arrive as nulls
            "transaction_date": transaction_date,
            "payment_method": _pick(rng, PAYMENT_METHODS, n),
            "store_type": _pick(rng, STORE_TYPES, n, p=[0.7, 0.3]),
        })

    # --- events --------------------------------------------------------------------------------
    def events(self, rng: np.random.Generator, numbers: np.ndarray, day: date, sessions: int) -> pa.RecordBatch:
        """`sessions`: how many session ids the day's events share."""
        v, n = self.vocab, len(numbers)
        event_type = rng.choice(len(EVENT_TYPES), size=n, p=EVENT_TYPE_SHARES)
        millisecond = rng.integers(0, 86_400_000, n)
        anonymous = _mask(rng, n, 0.3)
        customer_id = _put(_ids("C", rng.integers(0, self.n_customers, n) + 1, self.customer_width), anonymous,
                           pa.nulls(int(anonymous.sum()), pa.string()))
        product_id = _ids("P", rng.integers(0, self.n_products, n) + 1, self.product_width)
        cart_items = rng.integers(1, 6, n)
        cart = pa.StructArray.from_arrays(
            [pa.array(cart_items), pa.array(np.round(cart_items * rng.uniform(5, 300, n), 2)), product_id],
            names=["items", "value", "product_id"],
            mask=pa.array(event_type < CART_EVENTS),
        )
        return pa.RecordBatch.from_pydict({
            "event_id": _ids("EVT", numbers, 9),
            "event_type": pa.DictionaryArray.from_arrays(pa.array(event_type.astype(np.int32)), pa.array(EVENT_TYPES)),
            "event_timestamp": _join(day.isoformat() + "T", HOURS_MINUTES.take(millisecond // 60_000), ":",
                                     SECONDS_MILLIS.take(millisecond % 60_000), "Z"),
            "customer_id": customer_id,
            "session_id": _ids("S", rng.integers(1, sessions, n), 8),
            "device": pa.StructArray.from_arrays(
                [_pick(rng, DEVICE_TYPES, n), _pick(rng, OPERATING_SYSTEMS, n), _pick(rng, BROWSERS, n)],
                names=["type", "os", "browser"]),
            "geo": pa.StructArray.from_arrays(
                [_pick(rng, list(COUNTRY_SPELLINGS), n), _pick(rng, v.cities, n)], names=["country", "city"]),
            "page": pa.StructArray.from_arrays(
                [_join("/products/", product_id), _pick(rng, REFERRERS, n)], names=["url", "referrer"]),
            "cart": cart,
        })


def broken_lines(source: str, rows: int, rate: float) -> list[str]:
    """Lines no parser accepts (cut-off writes, stray quotes), appended to text feeds: `rate` of the
    file's rows, rounded, so a file of a few thousand rows has some too."""
    k = round(rows * rate)
    if source == "customers":
        # a field with an unquoted comma (too many columns) or a line cut short (too few)
        return [f"C9{i:07d},Doe, Jane,jane{i}@example.com,USA,Regular,2024-01-01,30,F,3" if i % 2 == 0
                else f"C9{i:07d},Cut Short" for i in range(k)]
    if source == "events":
        return [f'{{"event_id":"EVTBROKEN{i}","event_type":"page_view","device":{{"type":' for i in range(k)]
    return []


# --- writing -----------------------------------------------------------------------------------
def _json_parts(columns: list[pa.Array], fields: Iterable[pa.Field]) -> list:
    """The pieces of one JSON object per row: literal text and columns of value text. Values are
    plain (see PLAIN), so strings are quoted and not escaped."""
    parts: list = ["{"]
    for k, (column, spec) in enumerate(zip(columns, fields)):
        parts.append(("," if k else "") + json.dumps(spec.name) + ":")
        if column.null_count:  # rendered for the rows that have a value, `null` for the rest
            valid = pc.is_valid(column)
            text = _join(*_json_value_parts(column.filter(valid), spec))
            parts.append(pc.replace_with_mask(pc.fill_null(pa.nulls(len(column), pa.string()), "null"), valid, text))
        else:
            parts += _json_value_parts(column, spec)
    return parts + ["}"]


def _json_value_parts(column: pa.Array, spec: pa.Field) -> list:
    if spec.metadata == RAW_JSON:
        return [column]
    if isinstance(column, pa.DictionaryArray):  # the vocabulary written once, as JSON, then looked up
        words = column.dictionary
        text = _join(*_json_value_parts(words, pa.field(spec.name, words.type)))
        return [pa.DictionaryArray.from_arrays(column.indices, pc.if_else(pc.is_valid(words), text, "null"))]
    if pa.types.is_struct(column.type):
        return _json_parts([column.field(i) for i in range(column.type.num_fields)], column.type)
    if pa.types.is_string(column.type):
        return ['"', column, '"']
    if pa.types.is_boolean(column.type):
        return [pc.if_else(column, "true", "false")]
    if pa.types.is_integer(column.type):
        return [pc.cast(column, pa.string())]
    if pa.types.is_floating(column.type):
        return [_decimals(column.to_numpy(zero_copy_only=False))]
    raise TypeError(f"no JSON text for a {column.type} column ({spec.name})")


def _encode(source: str, batch: pa.RecordBatch) -> pa.RecordBatch | pa.Array:
    """A chunk as it goes into its file: Parquet takes the batch; the text formats take its lines."""
    spec = get_source(source)
    if spec.format == "parquet":  # as plain strings: readers need not know Arrow's dictionaries
        return pa.RecordBatch.from_arrays([_plain(column) for column in batch.columns], names=batch.schema.names)
    if spec.format == "csv":
        cells = [_csv_cell(batch.column(name)) for name in spec.column_names]
        return _join(*[piece for cell in cells for piece in (",", cell)][1:], "\n")
    separator = ",\n" if spec.format == "json" else "\n"  # one JSON array, or JSON lines
    return _join(*_json_parts(batch.columns, batch.schema), separator)


def _csv_cell(column: pa.Array) -> pa.Array:
    """A column as CSV text: a null is an empty field. Values are plain (see PLAIN): none is quoted."""
    if isinstance(column, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(column.indices, _csv_cell(column.dictionary))
    return pc.fill_null(pc.cast(column, pa.string()), "")


class _FeedWriter:
    """One feed file, written chunk by chunk, then the lines no parser accepts as real feeds carry them."""

    def __init__(self, source: str, path: Path):
        self.format = get_source(source).format
        self.source, self.path, self.rows = source, path, 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.parquet: pq.ParquetWriter | None = None
        self.text = None if self.format == "parquet" else open(path, "wb")  # noqa: SIM115 closed in close()
        if self.format == "csv":
            self.text.write((",".join(get_source(source).column_names) + "\n").encode())
        elif self.format == "json":
            self.text.write(b"[\n")

    def write(self, chunk: pa.RecordBatch | pa.Array) -> int:
        if self.format == "parquet":
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.path, chunk.schema, compression="zstd")
            self.parquet.write_batch(chunk)
        else:
            offsets = np.frombuffer(chunk.buffers()[1], np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
            self.text.write(chunk.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0])))
        self.rows += len(chunk)
        return len(chunk)

    def close(self, broken: list[str]) -> int:
        """Finish the file; return how many rows and lines it holds."""
        if self.parquet is not None:
            self.parquet.close()
        if self.format == "json":  # the last object is not followed by a comma
            self.text.seek(-2, os.SEEK_END)
            self.text.write(b"\n]\n")
        if self.text is not None:
            self.text.write("".join(line + "\n" for line in broken).encode())
            self.text.close()
        return self.rows + len(broken)


@dataclass(frozen=True)
class _Feed:
    """One file to write: its chunks, built on demand, and the broken lines that end it."""

    source: str
    day: date
    key: str
    chunks: list[Callable[[], pa.RecordBatch | pa.Array]]
    rows: int
    broken: list[str]


def _chunked(rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]


def _day_rows(n: int, days: int) -> list[int]:
    """Rows of each day when n rows are spread over the days as evenly as they go."""
    return [n // days + (1 if d < n % days else 0) for d in range(days)]


def _built(builds: Iterable[Callable[[], object]], workers: int) -> Iterator:
    """The builds' results in order, computed up to `workers` ahead of the caller: numpy and Arrow let
    go of the GIL, so chunks are built on every core while the caller writes, in bounded memory."""
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for build in builds:
            pending.append(pool.submit(build))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _write(feeds: list[_Feed], out_dir: Path, progress: Callable[[int, int], None] | None) -> list[GeneratedFile]:
    total = sum(feed.rows + len(feed.broken) for feed in feeds)
    done, files = 0, []
    if progress:
        progress(done, total)
    chunks = _built((chunk for feed in feeds for chunk in feed.chunks), workers=os.cpu_count() or 1)
    with closing(chunks):  # on an error, the builds still queued are dropped
        for feed in feeds:
            writer = _FeedWriter(feed.source, out_dir / feed.key)
            try:
                for _ in feed.chunks:
                    done += writer.write(next(chunks))
                    if progress:
                        progress(done, total)
            finally:
                rows = writer.close(feed.broken)
            done += len(feed.broken)
            files.append(GeneratedFile(feed.source, feed.day, feed.key, rows))
    if progress:
        progress(done, total)
    return files


# The random streams a feed file draws from, each chunk its own: [seed, source, day, part, chunk].
STREAM_SOURCE = {name: number for number, name in enumerate(ROWS_AT_SCALE_1)}
NEW_ROWS, RESENT_ROWS, CHANGED_PRODUCTS = range(3)


def _feeds(gen: Generator) -> list[_Feed]:
    """Every file of the demo: what each chunk is, not yet the rows."""
    config = gen.config
    feeds: list[_Feed] = []

    def stream(source: str, day_number: int, part: int, chunk: int = 0) -> np.random.Generator:
        return np.random.default_rng([config.seed, STREAM_SOURCE[source], day_number, part, chunk])

    def feed(source: str, day_number: int, parts: list[tuple[int, int, Callable]]) -> None:
        """`parts`: (stream part, rows, make(rng, start, stop)) in the order the file holds them."""
        day = config.batch_dates[day_number]
        chunks, rows = [], 0
        for part, part_rows, make in parts:
            for number, (start, stop) in enumerate(_chunked(part_rows)):
                rng = stream(source, day_number, part, number)
                chunks.append(lambda make=make, rng=rng, start=start, stop=stop: _encode(source, make(rng, start, stop)))
            rows += part_rows
        broken = broken_lines(source, rows, config.dirty.unparseable)
        key = f"{source}/{day.isoformat()}/{source}_{day.strftime('%Y%m%d')}{get_source(source).file_suffix}"
        feeds.append(_Feed(source, day, key, chunks, rows, broken))

    def resent(sent: int, rows: int) -> int:
        """How many later versions of the `sent` records so far follow a day's `rows` new ones."""
        return round(rows * config.dirty.duplicate) if sent else 0

    first = 0
    for day_number, rows in enumerate(_day_rows(gen.n_customers, config.days)):
        seen = first + rows
        feed("customers", day_number, [
            (NEW_ROWS, rows, lambda rng, start, stop, first=first: gen.customers(rng, np.arange(first + start, first + stop), 0)),
            (RESENT_ROWS, resent(seen, rows), lambda rng, start, stop, seen=seen, r=day_number + 1:
                gen.customers(rng, rng.integers(0, seen, stop - start), r)),
        ])
        first = seen

    # The catalogue arrives whole on the first day; later days re-send a slice with new prices.
    for day_number in range(config.days):
        if day_number == 0:
            products = np.arange(gen.n_products)
        else:
            changed = max(1, gen.n_products // 20)
            rng = stream("products", day_number, CHANGED_PRODUCTS)
            products = np.sort(rng.choice(gen.n_products, changed, replace=False))
        feed("products", day_number, [(NEW_ROWS, len(products), lambda rng, start, stop, products=products, r=day_number:
                                       gen.products(rng, products[start:stop], r))])

    # Corrections of earlier transactions follow each day's new ones: same ids, freshly drawn values.
    first = 0
    for day_number, (day, rows) in enumerate(zip(config.batch_dates, _day_rows(config.rows("transactions"), config.days))):
        sent = first + rows
        feed("transactions", day_number, [
            (NEW_ROWS, rows, lambda rng, start, stop, first=first, day=day:
                gen.transactions(rng, np.arange(first + start, first + stop) + 1, day)),
            (RESENT_ROWS, resent(sent, rows), lambda rng, start, stop, sent=sent, day=day:
                gen.transactions(rng, rng.integers(0, sent, stop - start) + 1, day, ids_can_be_missing=False)),
        ])
        first = sent

    first = 0
    for day_number, (day, rows) in enumerate(zip(config.batch_dates, _day_rows(config.rows("events"), config.days))):
        feed("events", day_number, [(NEW_ROWS, rows, lambda rng, start, stop, first=first, day=day, rows=rows:
                                     gen.events(rng, np.arange(first + start, first + stop) + 1, day, max(2, rows // 5)))])
        first += rows
    return feeds


def generate(config: GenerateConfig, out_dir: Path,
             progress: Callable[[int, int], None] | None = None) -> list[GeneratedFile]:
    """Write one file per source per day under `out_dir`; return what was written. `progress(done,
    total)` hears of every chunk written, in rows."""
    files = _write(_feeds(Generator(config)), out_dir, progress)
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
               drop_number: int | None = None, resend: bool = False) -> GeneratedFile:
    """One more file for `source` on `day`, written under `out_dir` as
    `<source>/<day>/<source>_<YYYYMMDD>_drop<drop number><suffix>`: a feed's next delivery after the demo.

    Rows come from the Generator's own row functions with the demo's scale and seed, so customer and
    product ids, prices and vocabularies are the demo's; each drop draws its rows from its own random
    streams, and every record is new (no re-sent versions), under an id no earlier drop or demo file
    has (see MAX_DROP_ROWS). With `resend`, a customers or products file instead sends new versions of
    `rows` distinct existing records, spread evenly over all of them, as a CRM re-exports the records
    it changed. `config.dirty` decides the dirt; DirtyRates.none() gives a file whose every row
    reaches Silver.
    """
    if not 1 <= rows <= MAX_DROP_ROWS:
        raise ValueError(f"rows={rows} must be between 1 and {MAX_DROP_ROWS:,}")
    spec = get_source(source)
    if drop_number is None:
        drop_number = time.time_ns() // 1_000_000
    gen = Generator(replace(config, start_date=day))  # customers register before the day they arrive
    first_number = drop_number * MAX_DROP_ROWS
    if resend:
        if source not in ("customers", "products"):
            raise ValueError(f"--resend applies to customers and products, not {source}: they have versions")
        existing = gen.n_customers if source == "customers" else gen.n_products
        if rows > existing:
            raise ValueError(f"rows={rows} is more than the {existing:,} {source} at scale {config.scale}")

    def make(rng: np.random.Generator, start: int, stop: int) -> pa.RecordBatch:
        numbers = np.arange(first_number + start, first_number + stop)
        if source == "transactions":
            return gen.transactions(rng, numbers, day)
        if source == "events":
            return gen.events(rng, numbers, day, max(2, rows // 5))
        existing = gen.n_customers if source == "customers" else gen.n_products
        make_records = gen.customers if source == "customers" else gen.products
        if resend:  # every (existing / rows)-th record, so the ids are distinct across chunks
            return make_records(rng, np.arange(start, stop) * existing // rows, 1)
        batch = make_records(rng, rng.integers(0, existing, stop - start), 0)
        key = batch.schema.get_field_index(spec.primary_key)
        sampled = batch.column(key)  # the dirt leaves a few customers without an id: they stay so
        fresh = pc.if_else(pc.equal(sampled, ""), "", _ids(ID_PREFIXES[source], numbers, 1))
        return batch.set_column(key, batch.schema.field(key), fresh)

    chunks = [lambda number=number, start=start, stop=stop:
              _encode(source, make(np.random.default_rng([config.seed, drop_number, number]), start, stop))
              for number, (start, stop) in enumerate(_chunked(rows))]
    broken = broken_lines(source, rows, config.dirty.unparseable)
    key = f"{source}/{day.isoformat()}/{source}_{day.strftime('%Y%m%d')}_drop{drop_number}{spec.file_suffix}"
    return _write([_Feed(source, day, key, chunks, rows, broken)], out_dir, None)[0]


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
