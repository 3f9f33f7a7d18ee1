"""What counts as a metric report in one printed line (the grammar behind ``sdk/metric_parsing.py``). Pure, stdlib.

A line is a report only when, after an optional prefix, it is made of nothing but ``key=value`` / ``key: value``
fields separated by blanks, commas, semicolons, bars or dashes (a tqdm postfix may close with ``]``). Anything
else around the fields makes the line prose, and prose is never parsed:

- a prefix ending in a word (``Trainable params: 49``, ``Total FLOPs: 0``, ``GPU available: ...``): the key is
  the last word of a label, not a name the program gave a value;
- text after the fields (``using: 0 TPU cores``, ``Total params: 49 (196.00 B)``);
- fields in parentheses (``exitcode : 1 (pid: 27842)``).

Whatever the line, identifiers are never metrics (``pid``, ``rank``, ``exitcode``, ``port`` ...), nor keys that
are file paths (``torch/.../api.py:1002`` is a file and a line number).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["IDENTIFIERS", "Fields", "fields", "is_identifier", "significant_digits"]

NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|-inf|-Inf)"
_NUMBER = re.compile(NUMBER + r"$")
_FIELD = re.compile(
    r"(?:^|(?<=[\s,;|(\[{]))"  # a key starts the line or follows a separator
    r"(?P<key>[A-Za-z_][\w./-]{0,127})\s?[=:]\s*"
    r"(?P<value>[^\s,;|\])}]+)"
)
#: what may stand between two fields, and after the last (a tqdm postfix ends with its ``]``)
_GAP = re.compile(r"[\s,;|/\-–—•]+")
_TRAIL = re.compile(r"[\s,;|]*\]?\s*")
#: a prefix ending in a word and a blank: the key is the end of a label (``Trainable params: 49``)
_LABEL_END = re.compile(r"[A-Za-z][\w)]*\s+$")
#: identifiers: never metrics, whatever the line
IDENTIFIERS = frozenset(
    {
        "pid", "ppid", "tid", "uid", "gid", "rank", "local_rank", "global_rank", "node_rank", "group_rank",
        "role_rank", "world_size", "local_world_size", "exitcode", "exit_code", "returncode", "port",
        "master_port", "line", "lineno", "line_no", "seed", "device", "gpu", "gpu_id", "device_id", "cuda",
        "job_id", "jobid", "task_id", "worker", "worker_id", "v_num", "version", "errno", "signal",
    }
)  # fmt: skip
_PATH_KEY = re.compile(
    r"\.(?:py|pyx|pyi|c|cc|cpp|cxx|h|hpp|cu|cuh|js|ts|rs|go|java|json|ya?ml|toml|txt|log|sh|so|ipynb|"
    r"ckpt|pt|pth|bin|safetensors)$",
    re.I,
)


def is_identifier(key: str) -> bool:
    """True for a key that names a thing rather than measures it (a process, a rank, a file ...)."""
    bare = key[key.rfind("/") + 1 :].lower()
    return bare in IDENTIFIERS or ("." in key and _PATH_KEY.search(key) is not None)


def significant_digits(text: str) -> int | None:
    """How many significant digits a printed number has (``'0.6928'`` -> 4, ``'5e-05'`` -> 1); None for
    ``nan``/``inf``, whose text is exact."""
    bare = text.strip().lstrip("+-")
    cut = bare.find("e")
    cut = bare.find("E") if cut < 0 else cut
    mantissa = (bare if cut < 0 else bare[:cut]).replace(".", "")
    if not mantissa.isdigit():
        return None
    return max(len(mantissa.lstrip("0")), 1)


@dataclass(frozen=True, slots=True)
class Fields:
    """The numeric fields of a report line: values and their printed significant digits, and the prefix."""

    prefix: str
    values: dict[str, float]
    digits: dict[str, int]


def fields(line: str) -> Fields | None:
    """The line's numeric fields if the line is a report (see the module docstring), else None."""
    found = list(_FIELD.finditer(line))
    if not found:
        return None
    prefix = line[: found[0].start()]
    if _LABEL_END.search(prefix) or prefix.rstrip().endswith("("):
        return None
    for before, after in itertools.pairwise(found):
        if _GAP.fullmatch(line, before.end(), after.start()) is None:
            return None
    if _TRAIL.fullmatch(line, found[-1].end()) is None:
        return None
    values: dict[str, float] = {}
    digits: dict[str, int] = {}
    for m in found:
        key, text = m.group("key").rstrip("./-"), m.group("value")
        if not key or _NUMBER.match(text) is None or is_identifier(key):
            continue
        values[key] = float(text)
        n = significant_digits(text)
        if n is not None:
            digits[key] = n
    return Fields(prefix, values, digits) if values else None
