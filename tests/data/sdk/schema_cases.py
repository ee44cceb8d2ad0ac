"""Configs for the schema verdicts: a config using every key, and one-value changes of it.

Shared by ``make_fixtures.py`` (the SDK's verdicts) and ``tests/unit/analysis/test_schema.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

BASE = {"dataset_type": "text/csv", "methods": {}}
FULL = {
    "version": "1.0",
    "dataset_type": "text/csv",
    "dataset_uri": "s3://b/d.csv",
    "headers": ["y", "a", "b"],
    "label": "y",
    "label_values_or_threshold": [1, 0.5, "yes"],
    "probability_threshold": 0.5,
    "facet": [{"name_or_index": "a", "value_or_threshold": [0]}, {"name_or_index": 2}],
    "group_variable": 1,
    "excluded_columns": ["b", 0],
    "joinsource_name_or_index": "id",
    "segment_config": [{"name_or_index": "a", "segments": [["[1, 4]"], [5]], "config_name": "c", "display_aliases": ["x", "y"]}],
    "methods": {
        "report": {"name": "report", "title": "t"},
        "pre_training_bias": {"methods": "all"},
        "post_training_bias": {"methods": ["DI"]},
        "shap": {
            "baseline": [[1, 2.5, "x", None], {"features": [1]}],
            "num_samples": 10, "use_logit": False, "save_local_shap_values": True, "agg_method": "mean_abs", "seed": 1,
            "features_to_explain": ["a", 1],
            "text_config": {"granularity": "token", "language": "en", "max_top_tokens": 5},
            "image_config": {"model_type": "OBJECT_DETECTION", "num_segments": 5, "segment_compactness": 5,
                             "feature_extraction_method": "segmentation", "max_objects": 1, "iou_threshold": 0.5,
                             "context": 1.0, "debug": {"image_names": ["i"], "class_ids": [1], "sample_from": 0, "sample_to": 1}},
        },
        "pdp": {"grid_resolution": 5, "features": ["a", 1], "top_k_features": 2},
        "asymmetric_shapley_value": {"direction": "bidirectional", "granularity": "timewise", "num_samples": 1,
                                     "baseline": {"target_time_series": "mean", "static_covariates": {"i": [1, "x", 0.5]}}},
    },
    "predictor": {
        "model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1, "endpoint_name_prefix": "ab",
        "accelerator_type": "ml.eia2.large", "target_model": "t", "custom_attributes": "c", "content_type": "application/x-npy",
        "accept_type": "application/jsonlines", "label": 0, "probability": "p", "label_headers": ["a", 1],
        "content_template": {"a": "$features"}, "record_template": "r", "time_series_predictor_config": {"forecast": "f"},
    },
    "time_series_data_config": {"target_time_series": 1, "item_id": 2, "timestamp": 3, "related_time_series": [4],
                                "static_covariates": [5], "dataset_format": "columns"},
}  # fmt: skip


def with_(path: str, value, base=None):
    """A copy of ``base`` with ``value`` set at a dotted path (``methods.shap.num_samples``)."""
    config = copy.deepcopy(BASE if base is None else base)
    node = config
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


#: Values tried at every key: each JSON type, strict-number edge cases, enum case, list shapes.
VALUES: list[Any] = [5, 5.0, 0.5, True, "x", "TEXT/CSV", None, [], [1], ["a"], [True], [[1, None]], {}, {"a": 1}, {"a": "b"}]


def _paths(node: dict, prefix: str = "") -> Iterator[str]:
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        yield path
        if isinstance(value, dict):
            yield from _paths(value, path)
    yield f"{prefix}.unknown_key" if prefix else "unknown_key"


def mutations() -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every key of :data:`FULL` (and an unknown key per object) x :data:`VALUES`."""
    for path in _paths(FULL):
        for value in VALUES:
            yield path, value
