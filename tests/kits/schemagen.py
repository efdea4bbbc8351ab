"""Hypothesis strategies drawn from a JSON Schema: the keywords docs/event.schema.json uses.

hypothesis-jsonschema does not run with this project's Hypothesis (it calls internals
that have since changed), so the few keywords the event schema uses are interpreted here:
`$ref` (local), `allOf`, `anyOf`, `oneOf`, `if`/`then`, `const`, `enum`, `type`,
`pattern`, `minLength`, `maxLength`, `properties`, `required`, `additionalProperties`,
`not`. Every value is checked by the `jsonschema` validator of the schema it was drawn
from, so a strategy never hands out a value the schema does not accept, and a keyword
this module does not know can only make it find fewer values, never wrong ones.
"""

from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import strategies as st

Schema = dict[str, Any]

# Small JSON values for unknown extra fields: numbers a double holds and orjson writes.
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


class SchemaStrategies:
    """Strategies for the (sub)schemas of one root schema."""

    def __init__(self, root: Schema, *, max_extra: int = 2) -> None:
        self.root = root
        self.validator = jsonschema.Draft7Validator(root)
        self.max_extra = max_extra

    def valid(self, schema: Schema, value: Any) -> bool:
        return self.validator.evolve(schema=schema).is_valid(value)

    def resolve(self, schema: Schema) -> Schema:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references: {ref}")
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def strategy(self, schema: Schema) -> st.SearchStrategy[Any]:
        """Values valid against `schema` (a part of the root, or the root itself)."""
        return self._draw(schema).filter(lambda value: self.valid(schema, value))

    def _draw(self, schema: Schema) -> st.SearchStrategy[Any]:
        schema = self.resolve(schema)
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return st.one_of([self._draw(branch) for branch in schema[key]])
        if "allOf" in schema:
            # One part draws; the filter of `strategy` holds the value to all of them.
            parts = schema["allOf"]
            conditional = [p["then"] for p in parts if "if" in p and "then" in p]
            if conditional:  # a dispatch (the root's on event_type): draw one `then`
                return st.one_of([self._draw(then) for then in conditional])
            return self._draw(parts[0])
        types = schema.get("type")
        if types is None:
            return JSON_VALUES
        if isinstance(types, str):
            types = [types]
        return st.one_of([self._of_type(t, schema) for t in types])

    def _of_type(self, kind: str, schema: Schema) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            return st.integers(
                min_value=schema.get("minimum", -(2**53)), max_value=schema.get("maximum", 2**53)
            )
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False, width=64)
        if kind == "array":
            return st.lists(JSON_VALUES, max_size=3)
        if kind == "string":
            low, high = schema.get("minLength", 0), schema.get("maxLength")
            if "pattern" in schema:
                text = st.from_regex(schema["pattern"])
                if high is not None or low:
                    text = text.filter(lambda s: low <= len(s) <= (high or len(s)))
                return text
            return st.text(min_size=low, max_size=high if high is not None else 40)
        if kind == "object":
            return self._object(schema)
        raise ValueError(f"unknown type {kind}")

    def _object(self, schema: Schema) -> st.SearchStrategy[dict[str, Any]]:
        properties: dict[str, Schema] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed = {name: self.strategy(properties[name]) for name in required if name in properties}
        optional = {
            name: self.strategy(sub) for name, sub in properties.items() if name not in required
        }
        extra: st.SearchStrategy[dict[str, Any]] = st.just({})
        if schema.get("additionalProperties", True) is True and self.max_extra:
            extra = st.dictionaries(
                st.text(min_size=1, max_size=12).filter(lambda k: k not in properties),
                JSON_VALUES,
                max_size=self.max_extra,
            )

        @st.composite
        def build(draw: st.DrawFn) -> dict[str, Any]:
            value = draw(extra)
            value.update(draw(st.fixed_dictionaries(fixed, optional=optional)))
            return value

        return build()
