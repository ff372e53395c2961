"""Hypothesis strategies built from the OpenAPI schemas in docs/openapi.json: values that fit the schema, values
near its edges, and the hostile ones that once produced 500s (lone surrogates, NUL, huge text, huge and
negative numbers, the wrong JSON type, dates at year 1 and 9999)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]

# Letters, digits, punctuation and spaces, plus the categories that broke things: controls (NUL, ESC) and
# surrogates (a lone one cannot be encoded as UTF-8).
ANY_TEXT = st.text(alphabet=st.characters(categories=["Cs", "Cc", "L", "N", "P", "Z", "S", "M"]), max_size=80)
EXTREME_DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2030-02-30", "2030-13-01"]
EXTREME_INSTANTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59.999999+23:59",
    "0001-01-01T00:00:00Z",
    "2030-01-01T25:00:00Z",
    "2030-01-01T10:00:00+99:00",
]
HOSTILE_TEXT = st.sampled_from(
    [
        "\ud800",
        "a\udc00b",
        "\x00",
        "nul\x00inside",
        "\x1b[31mred",
        "\x7f",
        "\u202eevil",
        "٥",
        "²",
        "１",
        "",
        " ",
        "null",
        "1e400",
        "-1",
        "NaN",
        "x" * 20_000,
        "\U0001f600" * 500,
        "%00",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        *EXTREME_DATES,
        *EXTREME_INSTANTS,
    ]
)
HOSTILE_NUMBER = st.sampled_from(
    [0, -1, -(2**31), 2**31, 2**31 - 1, 2**63, -(2**63), 2**64, 10**30, 10**400, 1e308, -1e308, 0.5, -0.0, 3.0000001]
)
WRONG_TYPE: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, False, [], {}, ["learner"], {"learner": True}, [1, 2], {"$gt": ""}, [[[[[]]]]], "[]", 0]
)
HOSTILE = st.one_of(HOSTILE_TEXT, HOSTILE_NUMBER, WRONG_TYPE, ANY_TEXT, st.lists(HOSTILE_TEXT, min_size=1, max_size=2))
OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12)), timezone(timedelta(hours=5, minutes=30))]
)


def instants() -> st.SearchStrategy[str]:
    near = st.datetimes(min_value=datetime(2029, 12, 1), max_value=datetime(2031, 6, 1), timezones=OFFSETS)
    anywhere = st.datetimes(timezones=st.one_of(st.none(), OFFSETS))
    return st.one_of(near, anywhere).map(lambda d: d.isoformat())


def dates() -> st.SearchStrategy[str]:
    return st.one_of(st.dates(min_value=date(2029, 12, 1), max_value=date(2031, 6, 1)), st.dates()).map(
        lambda d: d.isoformat()
    )


def fitting(schema: Schema) -> st.SearchStrategy[Any]:
    """Values of the schema's type, mostly inside its bounds, sometimes just outside them."""
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return instants()
        if fmt == "date":
            return dates()
        if fmt == "time":
            return st.times().map(lambda t: t.isoformat(timespec="minutes"))
        if fmt == "email":
            return st.one_of(st.emails(), ANY_TEXT)
        if "pattern" in schema:
            return st.integers(0, 2**40).map(str)
        limit = int(schema.get("maxLength", 200))
        return st.one_of(ANY_TEXT, st.text(min_size=limit, max_size=limit + 2))
    if kind == "integer":
        low, high = int(schema.get("minimum", -(2**31))), int(schema.get("maximum", 2**31))
        return st.one_of(st.integers(low, high), st.sampled_from([low - 1, high + 1]))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(value(schema.get("items", {})), max_size=int(schema.get("maxItems", 10)) + 2)
    if kind == "object":
        return body(schema)
    return HOSTILE


def value(schema: Schema) -> st.SearchStrategy[Any]:
    """Four times in five a value that fits, else a hostile one."""
    return st.one_of(fitting(schema), fitting(schema), fitting(schema), fitting(schema), HOSTILE)


def body(schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    strategies = {name: value(prop) for name, prop in properties.items()}
    base = st.fixed_dictionaries(
        {name: s for name, s in strategies.items() if name in required},
        optional={name: s for name, s in strategies.items() if name not in required},
    )
    # Now and then a field nobody asked for, with a hostile name or value.
    extra = st.dictionaries(st.one_of(ANY_TEXT, HOSTILE_TEXT), HOSTILE, max_size=2)
    return st.tuples(base, extra, st.integers(0, 9)).map(lambda t: {**t[0], **t[1]} if t[2] == 0 else t[0])


def mutated(example: dict[str, Any], schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
    """The working example with one field changed: a hostile value, another fitting one, or the field gone.
    Every other field stays valid, so the changed one reaches the code that reads it."""
    properties: dict[str, Schema] = schema.get("properties", {})
    keys = sorted(set(example) | set(properties))

    def change(key: str) -> st.SearchStrategy[dict[str, Any]]:
        def put(new: Any) -> dict[str, Any]:
            return {**example, key: new}

        return st.one_of(
            HOSTILE.map(put),
            HOSTILE.map(put),
            fitting(properties.get(key, {})).map(put),
            st.just({k: v for k, v in example.items() if k != key}),
        )

    return st.sampled_from(keys).flatmap(change)


def whole_body(schema: Schema, example: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Mostly the example with one field changed (or an object after the schema); sometimes not an object."""
    shaped = [mutated(example, schema)] * 6 if example else []
    return st.one_of(*shaped, body(schema), body(schema), body(schema), WRONG_TYPE, HOSTILE_TEXT)


PATH_IDS = st.one_of(
    st.sampled_from(["1", "2", "3", "4"]),
    st.sampled_from(["0", "00001", "2147483647", "2147483648", "99999999999999999999999", "٥", "１", "²"]),
)


def query(parameters: list[Schema]) -> st.SearchStrategy[dict[str, str]]:
    strategies = {
        p["name"]: st.one_of(fitting(p["schema"]).map(str), HOSTILE_TEXT) for p in parameters if p["in"] == "query"
    }
    return st.fixed_dictionaries({}, optional=strategies)
