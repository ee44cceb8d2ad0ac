"""Validation of a whole ``analysis_config`` dict against schema v1.0 (see docs/configs.md, "Validation").

The rules are those of the SDK's ``ANALYSIS_CONFIG_SCHEMA_V1_0`` (which the container applies too),
written as a JSON Schema and checked with ``jsonschema``:

* unknown keys are rejected at every level; ``dataset_type`` and ``methods`` are required;
* numbers are strict: an ``integer`` field rejects ``5.0`` and booleans, a ``float`` field (a type
  added here) rejects ``1``;
* enum-like strings are compared case-insensitively (the ``enumIgnoreCase`` keyword added here);
* list fields must be JSON arrays (Python lists; a tuple or a scalar is refused);
* objects written as "any JSON object" (a baseline row, ``content_template`` as a mapping,
  ``static_covariates``) must have at least one key.

Unlike the SDK (which stops at the first error), every problem is collected and reported with its
JSON path, e.g. ``methods.shap.num_samples`` or ``facet[1].value_or_threshold``, in the order of the
config's own keys. The messages keep the SDK's ``should be instance of 'int'`` wording and add what
would be accepted and, where it is obvious, the fix (``write 1.0``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import jsonschema
from jsonschema import ValidationError
from jsonschema.protocols import Validator

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

Problems = list[tuple[str, str]]
Schema = dict[str, Any]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# ------------------------------------------------------------------------------- schema builders ---


def _typed(name: str, description: str | None = None, **more: Any) -> Schema:
    return {"type": name, **({"description": description} if description else {}), **more}


def _enum(values: Sequence[str]) -> Schema:
    return _typed("string", enumIgnoreCase=list(values))


def _list(items: Schema) -> Schema:
    return _typed("array", items=items)


def _any(*options: Schema, label: str) -> Schema:
    return {"anyOf": list(options), "description": label}


def _obj(
    required: dict[str, Schema] | None = None, optional: dict[str, Schema] | None = None, **more
) -> Schema:
    required = required or {}
    properties = {**required, **(optional or {})}
    return _typed(
        "object", properties=properties, required=list(required), additionalProperties=False, **more
    )


def _map(keys: Schema, values: Schema, description: str) -> Schema:
    """A JSON object with free keys (at least one)."""
    return _typed("object", description, propertyNames=keys, additionalProperties=values, minProperties=1)


STR = _typed("string")
INT = _typed("integer")
FLOAT = _typed("float")
BOOL = _typed("boolean")
NULL = _typed("null")
STR_OR_INT = _any(STR, INT, label="a string or an integer")
NUMBER_OR_STR = _any(INT, FLOAT, STR, label="a number or a string (not a boolean)")
NON_EMPTY_OBJECT = _typed("object", "a non-empty JSON object", minProperties=1)
_HOMOGENEOUS_LIST = _any(_list(STR), _list(INT), label="a list of strings or a list of integers")

_TEXT_CONFIG = _obj(
    required={"granularity": _enum(C.TEXT_GRANULARITIES), "language": _enum(C.TEXT_LANGUAGES)},
    optional={"max_top_tokens": INT},
)
_IMAGE_CONFIG = _obj(
    optional={
        "num_segments": INT,
        "segment_compactness": INT,
        "feature_extraction_method": STR,
        "model_type": STR,
        "max_objects": INT,
        "iou_threshold": FLOAT,
        "context": FLOAT,
        "debug": _obj(
            optional={
                "image_names": _list(STR),
                "class_ids": _list(INT),
                "sample_from": INT,
                "sample_to": INT,
            }
        ),
    }
)
_BASELINE_ROW = _any(
    _list(_any(INT, FLOAT, STR, NULL, label="a number, a string or null")),
    NON_EMPTY_OBJECT,
    label="a row (list) or a JSON object",
)
_SHAP = _obj(
    optional={
        "baseline": _any(
            STR,
            _list(_BASELINE_ROW),
            NON_EMPTY_OBJECT,
            label="an S3 URI string, a list of rows, or a non-empty JSON object",
        ),
        "num_clusters": INT,
        "use_logit": BOOL,
        "num_samples": INT,
        "agg_method": _enum(C.AGG_METHODS),
        "save_local_shap_values": BOOL,
        "text_config": _TEXT_CONFIG,
        "image_config": _IMAGE_CONFIG,
        "seed": INT,
        "features_to_explain": _list(STR_OR_INT),
    }
)
_BIAS_METHODS = _obj(required={"methods": _any(STR, _list(STR), label="'all' or a list of metric names")})
_ASV_BASELINE = _any(
    STR,
    _obj(
        optional={
            "target_time_series": _enum(C.ASV_TEMPORAL_BASELINES),
            "related_time_series": _enum(C.ASV_TEMPORAL_BASELINES),
            "static_covariates": _map(
                STR_OR_INT, _list(NUMBER_OR_STR), "a non-empty object {item_id: [values]}"
            ),
        }
    ),
    label="an S3 URI string or a baseline object",
)
_METHODS = _obj(
    optional={
        "shap": _SHAP,
        "pre_training_bias": _BIAS_METHODS,
        "post_training_bias": _BIAS_METHODS,
        "pdp": _obj(
            required={"grid_resolution": INT},
            optional={"features": _list(STR_OR_INT), "top_k_features": INT},
        ),
        "report": _obj(required={"name": STR}, optional={"title": STR}),
        "asymmetric_shapley_value": _obj(
            required={"direction": _enum(C.ASV_DIRECTIONS), "granularity": _enum(C.ASV_GRANULARITIES)},
            optional={"num_samples": INT, "baseline": _ASV_BASELINE},
        ),
    }
)
_PREDICTOR = _obj(
    optional={
        "endpoint_name": STR,
        "endpoint_name_prefix": _typed("string", pattern=C.ENDPOINT_NAME_PREFIX_PATTERN),
        "model_name": STR,
        "target_model": STR,
        "instance_type": STR,
        "initial_instance_count": INT,
        "accelerator_type": STR,
        "content_type": _enum(C.SCHEMA_CONTENT_TYPES),
        "accept_type": _enum(C.ACCEPT_TYPES),
        "label": STR_OR_INT,
        "probability": STR_OR_INT,
        "label_headers": _list(STR_OR_INT),
        "content_template": _any(
            STR,
            _map(STR, STR, "a non-empty object of strings"),
            label="a string or a non-empty object of strings",
        ),
        "record_template": STR,
        "custom_attributes": STR,
        "time_series_predictor_config": _obj(required={"forecast": STR}),
    }
)
_TIME_SERIES = _obj(
    required={"target_time_series": STR_OR_INT, "item_id": STR_OR_INT, "timestamp": STR_OR_INT},
    optional={
        "related_time_series": _HOMOGENEOUS_LIST,
        "static_covariates": _HOMOGENEOUS_LIST,
        "dataset_format": _enum(C.TIME_SERIES_DATASET_FORMATS),
    },
)
_SEGMENT = _obj(
    required={"name_or_index": STR_OR_INT, "segments": _list(_list(STR_OR_INT))},
    optional={"config_name": STR, "display_aliases": _list(STR)},
)
_FACET = _obj(required={"name_or_index": STR_OR_INT}, optional={"value_or_threshold": _list(NUMBER_OR_STR)})

#: The whole analysis_config, schema version 1.0, as a JSON Schema (with the two extensions above).
ANALYSIS_CONFIG_V1_0: Schema = _obj(
    required={"dataset_type": _enum(C.SCHEMA_DATASET_TYPES), "methods": _METHODS},
    optional={
        "version": STR,
        "dataset_uri": STR,
        "headers": _list(STR),
        "label": STR_OR_INT,
        "predicted_label": STR_OR_INT,
        "features": STR,
        "label_values_or_threshold": _list(NUMBER_OR_STR),
        "probability_threshold": FLOAT,
        "segment_config": _list(_SEGMENT),
        "facet": _list(_FACET),
        "facet_dataset_uri": STR,
        "facet_headers": _list(STR),
        "predicted_label_dataset_uri": STR,
        "predicted_label_headers": _list(STR),
        "excluded_columns": _list(STR_OR_INT),
        "joinsource_name_or_index": STR_OR_INT,
        "group_variable": STR_OR_INT,
        "time_series_data_config": _TIME_SERIES,
        "predictor": _PREDICTOR,
    },
    description="a JSON object",
)

# ------------------------------------------------------------------------ the validator (library) ---


def _is_strict_int(_checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(_checker: Any, value: Any) -> bool:
    return isinstance(value, float)


def _enum_ignore_case(_validator: Any, values: list[str], instance: Any, _schema: Schema) -> Iterator:
    if isinstance(instance, str) and instance.lower() not in values:
        yield ValidationError("not one of the accepted values")


@cache
def _validator() -> Validator:
    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine_many({"integer": _is_strict_int, "float": _is_float})
    cls = jsonschema.validators.extend(
        base, validators={"enumIgnoreCase": _enum_ignore_case}, type_checker=checker
    )
    return cls(ANALYSIS_CONFIG_V1_0)


# ---------------------------------------------------------------------- errors in users' words ---

_TYPE_WORDS = {
    "string": ("str", "a string"),
    "integer": ("int", "an integer such as 5, not 5.0 or true"),
    "float": ("float", "a number with a decimal point such as 0.5 or 1.0"),
    "boolean": ("bool", "true or false"),
    "array": ("list", "a list"),
    "object": ("dict", "an object"),
    "null": ("None", "null"),
}


def _text(schema: Schema) -> str:
    """What ``schema`` accepts, in words."""
    if "description" in schema:
        return schema["description"]
    if "enumIgnoreCase" in schema:
        return "one of " + ", ".join(map(repr, schema["enumIgnoreCase"])) + " (case-insensitive)"
    if "pattern" in schema:
        return f"a string matching {schema['pattern']}"
    if schema.get("type") == "array":
        return f"a list of {_text(schema['items'])}"
    return _TYPE_WORDS[schema["type"]][1]


def _kind(schema: Schema) -> str:
    """``dict``, ``list``, ``scalar`` or ``any``: picks the alternative of an ``anyOf`` to explain."""
    if "anyOf" in schema:
        kinds = {_kind(option) for option in schema["anyOf"]}
        return kinds.pop() if len(kinds) == 1 else "any"
    return {"object": "dict", "array": "list"}.get(schema["type"], "scalar")


def _type_hint(kind: str, value: Any) -> str:
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return f"; write {value}.0"
    if kind == "integer" and isinstance(value, float) and value.is_integer():
        return f"; write {int(value)}"
    if kind == "array":
        return (
            "; use a list, not a tuple" if isinstance(value, tuple) else f"; wrap it: [{short_repr(value)}]"
        )
    return ""


Found = tuple[tuple[Any, ...], str]  # (path as keys/indices, message)


def _explain(error: ValidationError) -> Iterator[Found]:
    """Our problems for one jsonschema error (an ``anyOf`` may expand to its closest alternative's)."""
    path, value, schema = tuple(error.absolute_path), error.instance, error.schema
    if list(error.absolute_schema_path)[-2:-1] == ["propertyNames"]:  # a key of a free-form object
        yield (*path, value), f"key {short_repr(value)} should be {_text(schema)}"
        return
    match error.validator:
        case "type":
            name = error.validator_value
            words = (
                f"should be instance of '{_TYPE_WORDS[name][0]}' ({_text(schema)}){_type_hint(name, value)}"
            )
            if name == "null":
                words = "should be null"
            yield path, f"{short_repr(value)} {words}"
        case "required":  # one error per missing key, each naming them all: _found drops the repeats
            for key in error.validator_value:
                if key not in value:
                    yield (*path, key), f"Missing key: {key!r} (required)"
        case "additionalProperties" if error.validator_value is False:
            names = ", ".join(sorted(schema["properties"]))
            for key in value:
                if key not in schema["properties"]:
                    message = f"Wrong key {short_repr(key)}: not a known key here; allowed keys: {names}"
                    yield (*path, key), message
        case "minProperties":
            yield path, f"{{}} is not accepted: {_text(schema)} needs at least one key"
        case "pattern":
            yield path, f"{short_repr(value)} does not match '{error.validator_value}'"
        case "enumIgnoreCase":
            yield path, f"{short_repr(value)} is not accepted; expected {_text(schema)}"
        case "anyOf":
            shape = "dict" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"
            options = [i for i, option in enumerate(schema["anyOf"]) if _kind(option) == shape]
            if len(options) == 1 and shape != "scalar":
                for sub in error.context or []:
                    if sub.relative_schema_path[0] == options[0]:
                        yield from _explain(sub)
            else:
                yield path, f"{short_repr(value)} is not accepted; expected {_text(schema)}"
        case _:  # a keyword this schema does not use: say what the library says
            yield path, error.message


def _order(config: Any, path: tuple[Any, ...]) -> tuple[tuple[int, int], ...]:
    """Sort key: the config's own key order, a missing required key before the present ones."""
    key: list[tuple[int, int]] = []
    node = config
    for step in path:
        if isinstance(node, dict) and step in node:
            key.append((1, list(node).index(step)))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int):
            key.append((1, step))
            node = node[step]
        else:
            key.append((0, 0))
            node = None
    return tuple(key)


def _found(config: Any) -> list[Found]:
    found = dict.fromkeys(item for error in _validator().iter_errors(config) for item in _explain(error))
    return sorted(found, key=lambda item: _order(config, item[0]))


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            text += f"[{key}]"
        elif isinstance(key, str) and _IDENTIFIER.match(key):
            text = f"{text}.{key}" if text else key
        else:
            text += f"[{key!r}]"
    return text


def analysis_config_problems(config: Any) -> Problems:
    """Every schema v1.0 problem of ``config`` as ``(json_path, message)``; empty when valid.

    The root itself is reported with the path ``""`` (shown as ``$``).
    """
    return [(_dotted(path), message) for path, message in _found(config)]


def validate_analysis_config(config: Any) -> None:
    """Raise :class:`ClarifyConfigError` listing every schema v1.0 problem of ``config``.

    ``err.problems`` holds ``(json_path, message)`` pairs; ``err.field`` is the first path and
    ``err.value`` the value found there (``None`` for a missing key).
    """
    found = _found(config)
    if not found:
        return
    problems = [(_dotted(path), message) for path, message in found]
    value: Any = config
    for step in found[0][0]:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            value = None
            break
    raise ClarifyConfigError.from_problems(problems, values={problems[0][0]: value})


__all__ = ["ANALYSIS_CONFIG_V1_0", "analysis_config_problems", "validate_analysis_config"]
