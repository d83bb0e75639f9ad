"""The plan language as a JSON Schema, for editors (completion, and a warning as you type).

Generated from the declarative schema in `comp_calc.plan.schema` (the `PLAN` fields and
the kinds they use), so the keys, types, keywords, required keys, defaults and number
ranges are exactly the loader's; `comp-calc schema` prints it and the repository ships
it as `plans.schema.json` (a test keeps the two equal). The loader checks more than a
JSON Schema can say (the catch-all rule last, increasing tiers, decimal places, dates that
exist, rules across files): `comp-calc validate` stays the authority.
"""

from __future__ import annotations

import inspect
import json
from decimal import Decimal
from typing import Any

from comp_calc.plan import schema as plan_schema

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "comp-calc plan"


def _closure(kind) -> tuple[str, dict[str, Any]]:
    """(the factory that made `kind`, the values it was made with)."""
    return kind.__qualname__.split(".", 1)[0], inspect.getclosurevars(kind).nonlocals


def _number(value: Decimal | int | None) -> int | None:
    """A bound as a JSON number: the bounds are whole numbers (0, 1, -100, 100), written as such."""
    if value is None:
        return None
    if Decimal(value) != Decimal(value).to_integral_value():
        raise TypeError(f"a plan number bound {value} is not whole: write it to the JSON Schema exactly")
    return int(value)


def _scalar_number(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number"}
    lo, hi = _number(values["lo"]), _number(values["hi"])
    limit = 10**plan_schema.MAX_INT_DIGITS  # fewer than MAX_INT_DIGITS + 1 digits before the point
    if lo is None:
        out["exclusiveMinimum"] = -limit
    else:
        out["exclusiveMinimum" if values["lo_open"] else "minimum"] = lo
    if hi is None:
        out["exclusiveMaximum"] = limit
    else:
        out["exclusiveMaximum" if values["hi_open"] else "maximum"] = hi
    return out


_PLAIN = {
    plan_schema.text: {"type": "string", "pattern": "\\S"},
    plan_schema.currency_code: {"type": "string", "pattern": "^[A-Z]{3}$"},
    plan_schema.boolean: {"type": "boolean"},
    plan_schema.day: {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
}


def kind_schema(kind) -> dict[str, Any]:
    """The JSON Schema of one kind of `comp_calc.plan.schema`."""
    if kind in _PLAIN:
        return dict(_PLAIN[kind])
    if kind is plan_schema.products:
        one = kind_schema(plan_schema.text)
        return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1}]}
    factory, values = _closure(kind)
    if factory == "keyword":
        return {"enum": list(values["choices"])}
    if factory == "integer":
        return {"type": "integer", "minimum": values["lo"], "maximum": values["hi"]}
    if factory == "number":
        return _scalar_number(values)
    if factory == "listing":
        out = {"type": "array", "items": kind_schema(values["item"]), "minItems": 1}
        if any(_closure(rule) == ("unique", {"key": None}) for rule in values["rules"]):
            out["uniqueItems"] = True
        return out
    if factory == "record":
        out = fields_schema(values["fields"])
        if values.get("one_of"):  # exactly one of these keys
            out["oneOf"] = [{"required": [key]} for key in values["one_of"]]
        return out
    raise TypeError(f"no JSON Schema for the plan kind {kind.__qualname__}")


def fields_schema(fields: dict[str, plan_schema.Field]) -> dict[str, Any]:
    """A mapping of `fields`: no other keys, the required ones required, defaults given."""
    properties = {}
    for name, field in fields.items():
        prop = kind_schema(field.kind)
        if not field.required and field.default is not None:
            prop["default"] = field.default
        properties[name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name, field in fields.items() if field.required],
        "additionalProperties": False,
    }


def plan_json_schema() -> dict[str, Any]:
    return {"$schema": DIALECT, "title": TITLE, **fields_schema(plan_schema.PLAN)}


def schema_text() -> str:
    """The schema as stable text: keys in the plan's order, 2-space indent, a final newline."""
    return json.dumps(plan_json_schema(), indent=2, ensure_ascii=False) + "\n"
