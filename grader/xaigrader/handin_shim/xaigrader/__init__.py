"""What the hidden-test lines do inside a kernel that is being autograded.

A lab's hidden region reads ``from xaigrader import week02`` then
``week02.partial_dependence_1d(partial_dependence_1d)``. While a submission is autograded,
this stand-in is the only ``xaigrader`` the kernel can import (the grader itself is outside
the sandbox): the call saves the student's object, by value, into the hand-in folder given
by ``XAI_HANDIN_DIR``, and nothing else. The hidden test itself runs later, in the grader's
own process, on that saved object (see ``xaigrader.verdicts`` in the grader).
"""

import os

_LIMIT = 256 * 1024**2  # bytes of one hand-in


def _hand_in(obj, key):
    folder = os.environ.get("XAI_HANDIN_DIR")
    if not folder:
        raise RuntimeError("no hand-in folder: this kernel is not being autograded")
    path = os.path.join(folder, key + ".pkl")
    try:
        import cloudpickle

        data = cloudpickle.dumps(obj)
        if len(data) > _LIMIT:
            raise ValueError(f"it takes {len(data) / 1024**2:.0f} MB saved (a large global object it uses?)")
    except Exception as exc:  # noqa: BLE001 - reported by the grader as the test's result
        with open(os.path.join(folder, key + ".error"), "w") as fh:
            fh.write(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300])
        return
    partial = path + ".part"
    with open(partial, "wb") as fh:
        fh.write(data)
    os.replace(partial, path)


class _Week:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, check):
        if check.startswith("_"):
            raise AttributeError(check)
        return lambda obj: _hand_in(obj, f"{self._name}.{check}")


def __getattr__(name):
    if name.startswith("week"):
        return _Week(name)
    raise AttributeError(name)
