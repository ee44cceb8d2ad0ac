"""LabelStore: the same answers in memory and spilled to SQLite."""

from __future__ import annotations

from airflow_provider_clarify.engine.monitoring.labels import LabelStore


def test_spills_past_the_bound_and_later_labels_win(tmp_path):
    store = LabelStore(str(tmp_path), max_in_memory=3)
    for i in range(10):
        store.put(f"id{i}", i % 2)
    store.put("id1", "late")
    assert store.spilled
    assert len(store) == 10
    assert store.get("id1") == "late"
    assert store.get("id4") == 0
    assert store.get("missing") is None
    store.close()


def test_small_sets_stay_in_memory(tmp_path):
    store = LabelStore(str(tmp_path), max_in_memory=3)
    store.put("a", 1)
    assert not store.spilled
    assert store.get("a") == 1
    assert not (tmp_path / "labels.sqlite").exists()
