from __future__ import annotations

import pytest

from airflow_provider_clarify.engine.explain.feature_selection import feature_indices

NAMES = ["age", "income", "city"]


class Refused(ValueError):
    pass


def test_names_and_indices_map_to_columns_in_the_order_given():
    assert feature_indices(NAMES, ["city", 0, "income"], "methods.x", Refused) == [2, 0, 1]


@pytest.mark.parametrize("item", ["zip", 3, -1, True])
def test_an_unknown_entry_raises_the_given_error_naming_field_entry_and_features(item):
    with pytest.raises(Refused) as info:
        feature_indices(NAMES, [item], "methods.pdp.features", Refused)
    message = str(info.value)
    assert message.startswith(f"methods.pdp.features contains {item!r}, which is not a feature")
    assert "['age', 'income', 'city'] (or indices 0..2)" in message
