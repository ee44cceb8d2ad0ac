"""Validation of a whole ``analysis_config`` dict against schema v1.0 (clarify-formats.md §1).

The rules are those of the SDK's ``ANALYSIS_CONFIG_SCHEMA_V1_0`` (which the container applies too):

* unknown keys are rejected at every level; ``dataset_type`` and ``methods`` are required;
* numbers are strict: an ``int`` field rejects ``5.0`` and booleans, a ``float`` field rejects ``1``;
* enum-like strings are compared case-insensitively;
* list fields must be JSON arrays (Python lists; a tuple or a scalar is refused);
* objects written as "any JSON object" (a baseline row, ``content_template`` as a mapping,
  ``static_covariates``) must have at least one key.

Unlike the SDK (which stops at the first error), every problem is collected and reported with its
JSON path, e.g. ``methods.shap.num_samples`` or ``facet[1].value_or_threshold``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

Problems = list[tuple[str, str]]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _join(path: str, key: Any) -> str:
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    if isinstance(key, str) and _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key!r}]"


class Spec:
    """A node of the schema: ``check`` appends ``(path, message)`` problems; ``text`` describes it."""

    text = "a value"
    kind = "any"  # "dict", "list" or "scalar": used to pick the alternative to explain in AnyOf

    def check(self, value: Any, path: str, problems: Problems) -> None:
        raise NotImplementedError

    def ok(self, value: Any) -> bool:
        found: Problems = []
        self.check(value, "", found)
        return not found


def _not_instance(value: Any, type_name: str, text: str, hint: str = "") -> str:
    """The schema library's wording for a value of the wrong JSON type."""
    return f"{short_repr(value)} should be instance of '{type_name}' ({text}){hint}"


class _StringSpec(Spec):
    """A JSON string that must also pass :meth:`refusal` (``None`` = accepted)."""

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, str):
            problems.append((path, _not_instance(value, "str", self.text)))
        elif (message := self.refusal(value)) is not None:
            problems.append((path, message))

    def refusal(self, value: str) -> str | None:
        raise NotImplementedError


@dataclass
class Type(Spec):
    """A JSON scalar type; ``int`` refuses booleans, ``float`` refuses ints (the schema library's rules)."""

    py: type
    name: str
    text: str = ""
    kind: str = "scalar"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        good = isinstance(value, self.py) and not (self.py is int and isinstance(value, bool))
        if not good:
            problems.append((path, _not_instance(value, self.name, self.text, _hint(self, value))))


def _hint(spec: Type, value: Any) -> str:
    if spec.py is float and isinstance(value, int) and not isinstance(value, bool):
        return f"; write {value}.0"
    if spec.py is int and isinstance(value, float) and value.is_integer():
        return f"; write {int(value)}"
    return ""


STR = Type(str, "str", "a string")
INT = Type(int, "int", "an integer such as 5, not 5.0 or true")
FLOAT = Type(float, "float", "a number with a decimal point such as 0.5 or 1.0")
BOOL = Type(bool, "bool", "true or false")


@dataclass
class Enum(_StringSpec):
    """A string from a fixed set, compared case-insensitively."""

    values: tuple[str, ...]
    kind: str = "scalar"

    @property
    def text(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(repr(v) for v in self.values) + " (case-insensitive)"

    def refusal(self, value: str) -> str | None:
        if value.lower() in self.values:
            return None
        return f"{short_repr(value)} is not accepted; expected {self.text}"


@dataclass
class Pattern(_StringSpec):
    """A string in which ``re.search(pattern)`` finds a match."""

    pattern: str
    kind: str = "scalar"

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"a string matching {self.pattern}"

    def refusal(self, value: str) -> str | None:
        if re.search(self.pattern, value) is not None:
            return None
        return f"{short_repr(value)} does not match '{self.pattern}'"


@dataclass
class Null(Spec):
    """JSON ``null``."""

    text: str = "null"
    kind: str = "scalar"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if value is not None:
            problems.append((path, f"{short_repr(value)} should be null"))


@dataclass
class ListOf(Spec):
    """A JSON array whose items all match ``item`` (may be empty)."""

    item: Spec
    kind: str = "list"

    @property
    def text(self) -> str:  # type: ignore[override]
        return f"a list of {self.item.text}"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, list):
            hint = (
                "; use a list, not a tuple"
                if isinstance(value, tuple)
                else f"; wrap it: [{short_repr(value)}]"
            )
            problems.append((path, _not_instance(value, "list", self.text, hint)))
            return
        for index, item in enumerate(value):
            self.item.check(item, _join(path, index), problems)


@dataclass
class AnyOf(Spec):
    """The first alternative that matches wins; otherwise explain the closest one."""

    options: tuple[Spec, ...]
    label: str = ""

    @property
    def text(self) -> str:  # type: ignore[override]
        return self.label or " or ".join(option.text for option in self.options)

    @property
    def kind(self) -> str:  # type: ignore[override]
        kinds = {option.kind for option in self.options}
        return kinds.pop() if len(kinds) == 1 else "any"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if any(option.ok(value) for option in self.options):
            return
        shape = "dict" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"
        same_shape = [option for option in self.options if option.kind == shape]
        if len(same_shape) == 1 and shape != "scalar":
            same_shape[0].check(value, path, problems)
            return
        problems.append((path, f"{short_repr(value)} is not accepted; expected {self.text}"))


@dataclass
class MapOf(Spec):
    """A JSON object with free keys (at least one) whose keys and values match the given specs."""

    key: Spec
    value: Spec
    text: str = "a non-empty object"
    kind: str = "dict"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append((path, _not_instance(value, "dict", self.text)))
            return
        if not value:
            problems.append((path, f"{{}} is not accepted: {self.text} needs at least one key"))
            return
        for key, item in value.items():
            if not self.key.ok(key):
                problems.append((_join(path, key), f"key {short_repr(key)} should be {self.key.text}"))
                continue
            self.value.check(item, _join(path, key), problems)


@dataclass
class Obj(Spec):
    """A JSON object with known keys: ``required`` and ``optional``; any other key is refused."""

    required: dict[str, Spec] = field(default_factory=dict)
    optional: dict[str, Spec] = field(default_factory=dict)
    text: str = "an object"
    kind: str = "dict"

    def check(self, value: Any, path: str, problems: Problems) -> None:
        if not isinstance(value, dict):
            problems.append((path, _not_instance(value, "dict", self.text)))
            return
        allowed = {**self.required, **self.optional}
        for key in self.required:
            if key not in value:
                problems.append((_join(path, key), f"Missing key: {key!r} (required)"))
        for key, item in value.items():
            spec = allowed.get(key) if isinstance(key, str) else None
            if spec is None:
                names = ", ".join(sorted(allowed))
                problems.append(
                    (
                        _join(path, key),
                        f"Wrong key {short_repr(key)}: not a known key here; allowed keys: {names}",
                    )
                )
                continue
            spec.check(item, _join(path, key), problems)


def _one_of(*options: Spec, label: str = "") -> AnyOf:
    return AnyOf(tuple(options), label)


STR_OR_INT = _one_of(STR, INT, label="a string or an integer")
NUMBER_OR_STR = _one_of(INT, FLOAT, STR, label="a number or a string (not a boolean)")
NON_EMPTY_OBJECT = MapOf(Type(object, "object"), Type(object, "object"), "a non-empty JSON object")

_TEXT_CONFIG = Obj(
    required={"granularity": Enum(C.TEXT_GRANULARITIES), "language": Enum(C.TEXT_LANGUAGES)},
    optional={"max_top_tokens": INT},
)
_IMAGE_CONFIG = Obj(
    optional={
        "num_segments": INT,
        "segment_compactness": INT,
        "feature_extraction_method": STR,
        "model_type": STR,
        "max_objects": INT,
        "iou_threshold": FLOAT,
        "context": FLOAT,
        "debug": Obj(
            optional={
                "image_names": ListOf(STR),
                "class_ids": ListOf(INT),
                "sample_from": INT,
                "sample_to": INT,
            }
        ),
    }
)
_SHAP_BASELINE = _one_of(
    STR,
    ListOf(
        _one_of(
            ListOf(_one_of(INT, FLOAT, STR, Null())), NON_EMPTY_OBJECT, label="a row (list) or a JSON object"
        )
    ),
    NON_EMPTY_OBJECT,
    label="an S3 URI string, a list of rows, or a non-empty JSON object",
)
_SHAP = Obj(
    optional={
        "baseline": _SHAP_BASELINE,
        "num_clusters": INT,
        "use_logit": BOOL,
        "num_samples": INT,
        "agg_method": Enum(C.AGG_METHODS),
        "save_local_shap_values": BOOL,
        "text_config": _TEXT_CONFIG,
        "image_config": _IMAGE_CONFIG,
        "seed": INT,
        "features_to_explain": ListOf(STR_OR_INT),
    }
)
_BIAS_METHODS = Obj(required={"methods": _one_of(STR, ListOf(STR), label="'all' or a list of metric names")})
_ASV_BASELINE = _one_of(
    STR,
    Obj(
        optional={
            "target_time_series": Enum(C.ASV_TEMPORAL_BASELINES),
            "related_time_series": Enum(C.ASV_TEMPORAL_BASELINES),
            "static_covariates": MapOf(
                STR_OR_INT, ListOf(NUMBER_OR_STR), "a non-empty object {item_id: [values]}"
            ),
        }
    ),
    label="an S3 URI string or a baseline object",
)
_METHODS = Obj(
    optional={
        "shap": _SHAP,
        "pre_training_bias": _BIAS_METHODS,
        "post_training_bias": _BIAS_METHODS,
        "pdp": Obj(
            required={"grid_resolution": INT},
            optional={"features": ListOf(STR_OR_INT), "top_k_features": INT},
        ),
        "report": Obj(required={"name": STR}, optional={"title": STR}),
        "asymmetric_shapley_value": Obj(
            required={"direction": Enum(C.ASV_DIRECTIONS), "granularity": Enum(C.ASV_GRANULARITIES)},
            optional={"num_samples": INT, "baseline": _ASV_BASELINE},
        ),
    }
)
_PREDICTOR = Obj(
    optional={
        "endpoint_name": STR,
        "endpoint_name_prefix": Pattern(C.ENDPOINT_NAME_PREFIX_PATTERN),
        "model_name": STR,
        "target_model": STR,
        "instance_type": STR,
        "initial_instance_count": INT,
        "accelerator_type": STR,
        "content_type": Enum(C.SCHEMA_CONTENT_TYPES),
        "accept_type": Enum(C.ACCEPT_TYPES),
        "label": STR_OR_INT,
        "probability": STR_OR_INT,
        "label_headers": ListOf(STR_OR_INT),
        "content_template": _one_of(
            STR,
            MapOf(STR, STR, "a non-empty object of strings"),
            label="a string or a non-empty object of strings",
        ),
        "record_template": STR,
        "custom_attributes": STR,
        "time_series_predictor_config": Obj(required={"forecast": STR}),
    }
)
_TIME_SERIES = Obj(
    required={"target_time_series": STR_OR_INT, "item_id": STR_OR_INT, "timestamp": STR_OR_INT},
    optional={
        "related_time_series": _one_of(
            ListOf(STR), ListOf(INT), label="a list of strings or a list of integers"
        ),
        "static_covariates": _one_of(
            ListOf(STR), ListOf(INT), label="a list of strings or a list of integers"
        ),
        "dataset_format": Enum(C.TIME_SERIES_DATASET_FORMATS),
    },
)
_SEGMENT = Obj(
    required={"name_or_index": STR_OR_INT, "segments": ListOf(ListOf(STR_OR_INT))},
    optional={"config_name": STR, "display_aliases": ListOf(STR)},
)
_FACET = Obj(required={"name_or_index": STR_OR_INT}, optional={"value_or_threshold": ListOf(NUMBER_OR_STR)})

#: The whole analysis_config, schema version 1.0.
ANALYSIS_CONFIG_V1_0 = Obj(
    required={"dataset_type": Enum(C.SCHEMA_DATASET_TYPES), "methods": _METHODS},
    optional={
        "version": STR,
        "dataset_uri": STR,
        "headers": ListOf(STR),
        "label": STR_OR_INT,
        "predicted_label": STR_OR_INT,
        "features": STR,
        "label_values_or_threshold": ListOf(NUMBER_OR_STR),
        "probability_threshold": FLOAT,
        "segment_config": ListOf(_SEGMENT),
        "facet": ListOf(_FACET),
        "facet_dataset_uri": STR,
        "facet_headers": ListOf(STR),
        "predicted_label_dataset_uri": STR,
        "predicted_label_headers": ListOf(STR),
        "excluded_columns": ListOf(STR_OR_INT),
        "joinsource_name_or_index": STR_OR_INT,
        "group_variable": STR_OR_INT,
        "time_series_data_config": _TIME_SERIES,
        "predictor": _PREDICTOR,
    },
    text="a JSON object",
)


def analysis_config_problems(config: Any) -> Problems:
    """Every schema v1.0 problem of ``config`` as ``(json_path, message)``; empty when valid.

    The root itself is reported with the path ``""`` (shown as ``$``).
    """
    problems: Problems = []
    ANALYSIS_CONFIG_V1_0.check(config, "", problems)
    return problems


def validate_analysis_config(config: Any) -> None:
    """Raise :class:`ClarifyConfigError` listing every schema v1.0 problem of ``config``.

    ``err.problems`` holds ``(json_path, message)`` pairs; ``err.field`` is the first path.
    """
    problems = analysis_config_problems(config)
    if problems:
        raise ClarifyConfigError.from_problems(problems, values=_values_at(config, problems))


def _values_at(config: Any, problems: Problems) -> dict[str, Any]:
    """The offending value of the first problem (best effort; used for ``err.value``)."""
    path = problems[0][0]
    value: Any = config
    for token in re.findall(r"\[(\d+)\]|\[('(?:[^']*)')\]|([^.\[\]]+)", path):
        index, quoted, name = token
        try:
            if index:
                value = value[int(index)]
            elif quoted:
                value = value[quoted[1:-1]]
            else:
                value = value[name]
        except (KeyError, IndexError, TypeError):
            return {}
    return {path: value}


__all__ = ["ANALYSIS_CONFIG_V1_0", "analysis_config_problems", "validate_analysis_config"]
