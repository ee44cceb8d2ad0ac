"""Feature lists written as names or column indices (``features_to_explain``, ``pdp.features``)."""

from __future__ import annotations

from collections.abc import Sequence


def feature_indices(names: Sequence[str], wanted: list, field_path: str, error: type[Exception]) -> list[int]:
    """Column indices of ``wanted`` (feature names or 0-based indices), in the order given.

    An entry that is neither a feature name nor an index in ``0..len(names)-1`` raises ``error``
    naming ``field_path``, the entry and the features there are. Booleans are not indices.
    """
    index = {name: j for j, name in enumerate(names)}
    out = []
    for item in wanted:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(names):
            out.append(item)
        elif isinstance(item, str) and item in index:
            out.append(index[item])
        else:
            raise error(
                f"{field_path} contains {item!r}, which is not a feature; features are "
                f"{list(names)} (or indices 0..{len(names) - 1})."
            )
    return out
