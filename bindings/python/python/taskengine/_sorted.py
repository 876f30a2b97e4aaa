"""The copy behind ``taskengine.sorted``: a writable, C-contiguous buffer with
the input's items, and how to turn it into the result (``None``: as is).

The result has the input's kind, so ``sorted`` can stand in for ``np.sort``
(one-dimensional) and for the builtin ``sorted`` on ``array.array`` and bytes.
"""

from __future__ import annotations

import array
import copy
import sys
from typing import Any, Callable, Optional, Tuple


def writable_copy(data: Any) -> Tuple[Any, Optional[Callable[[Any], Any]]]:
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray):
        # .copy keeps the subclass: a masked array stays one, and the sort then
        # refuses it for the same reason sort() does.
        return data.copy(order="C"), None
    if isinstance(data, array.array):
        return copy.copy(data), None
    if isinstance(data, bytes):
        return bytearray(data), bytes
    if isinstance(data, bytearray):
        return bytearray(data), None
    view = memoryview(data)
    fmt = view.format
    if np is not None and (len(fmt) > 1 or view.ndim != 1):
        # Formats memoryview.cast cannot take ('<q', ...): numpy copies them.
        return np.array(view, copy=True), memoryview
    # The format is the input's own, so the cast is valid whenever the input
    # could be sorted at all (typeshed only knows literal formats).
    out = memoryview(bytearray(view.tobytes())).cast(fmt)  # type: ignore[call-overload]
    return out, None
