"""`collect_only_new_objects`: the collector skips what was alive before the block, still frees
the block's own cycles, and gives the old objects back afterwards."""

from __future__ import annotations

import gc
import weakref

from monitor.memory import collect_only_new_objects


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_old_objects_are_frozen_new_cycles_collected_and_all_returned() -> None:
    gc.collect()
    before = gc.get_freeze_count()
    old = _cycle()  # garbage made before the block: not the block's to collect
    with collect_only_new_objects():
        assert gc.get_freeze_count() > before
        new = _cycle()
        gc.collect()
        assert new() is None  # the block's own garbage is still collected
        assert old() is not None
        with collect_only_new_objects():  # entered again (another thread): nothing changes
            pass
        assert gc.get_freeze_count() > before
    assert gc.get_freeze_count() == before
    gc.collect()
    assert old() is None  # given back to the collector
