"""The one way twinline reads a YAML file a person hands it (recipe, materials, targets).

A recipe, a materials file or a design-targets file is a few kilobytes of hand-written
YAML. Reading one must stay cheap whatever the file holds, so every such file goes through
:func:`read_yaml`, which refuses, each with a one-line message naming the file:

* a file larger than :data:`MAX_BYTES` (1 MiB; only that much is ever read);
* a file that is not UTF-8 text;
* malformed YAML (line and column named);
* a key written twice in one mapping (plain PyYAML silently keeps the last one);
* more than :data:`MAX_ALIASES` aliases (``*name``), aliases that would expand to more than
  :data:`MAX_EXPANDED_NODES` nodes (the "billion laughs" bomb: nine levels of nine aliases
  is 81 aliases but 387 million nodes), or an alias to itself;
* nesting deeper than :data:`MAX_DEPTH` levels (PyYAML composes recursively).

Only the safe YAML tags are constructed (a :class:`yaml.SafeLoader` subclass), so
``!!python/object`` tags are refused, never executed. The limits are checked while the
node graph is composed, before any Python object is built, so the time and memory spent
on a hostile file are bounded by the size cap.

Speed: where PyYAML was built with libyaml, the text is scanned and parsed by libyaml's
event parser (``yaml._yaml.CParser``, ~5x faster than PyYAML's Python scanner: 0.6 ms instead
of 3 ms for a recipe) while the nodes are still composed by PyYAML's Python composer with
the limit checks above, and constructed by the same safe constructor. A text libyaml refuses
(or that breaks a limit) is read again by the pure-Python loader, so every error message —
line, column and wording — is PyYAML's, as before.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from twinline.spec.errors import RecipeError, TwinlineError, quote

MAX_BYTES = 1 << 20
"""Largest YAML file read [bytes] (1 MiB): a recipe is kilobytes."""

MAX_ALIASES = 100
"""Most aliases (``*name``) one file may use."""

MAX_EXPANDED_NODES = 100_000
"""Most YAML nodes a file may hold once its aliases are expanded."""

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences."""


class _LimitError(Exception):
    """A YAML file exceeds one of the limits above (message for a person)."""


def _size(n: int) -> str:
    """``1.5 MiB (1,572,864 bytes)``-style size."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def _libyaml_base() -> type | None:
    """A safe loader whose events come from libyaml and whose composer is PyYAML's Python
    one (so that :func:`_loader_class`'s limit hooks run); ``None`` without libyaml."""
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        return None
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    class LibyamlEventsSafeLoader(Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

    return LibyamlEventsSafeLoader


@cache
def _loader_class(fast: bool = False) -> type:
    """A SafeLoader subclass that enforces the limits and refuses duplicate keys (built
    once: the class holds no per-document state); ``fast``: parsed by libyaml when
    available (:func:`_libyaml_base`)."""
    import yaml
    from yaml.nodes import MappingNode, SequenceNode

    base = (_libyaml_base() if fast else None) or yaml.SafeLoader

    class BoundedSafeLoader(base):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._aliases = 0
            self._depth = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark
                    raise _LimitError(
                        f"more than {MAX_ALIASES} YAML aliases (alias number {self._aliases} is at "
                        f"line {mark.line + 1}); write the values out instead of repeating '*name'")
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise _LimitError(f"YAML nested more than {MAX_DEPTH} levels deep (at line "
                                      f"{mark.line + 1})")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def compose_document(self):
            node = super().compose_document()
            if self._aliases:
                _check_expansion(node, MappingNode, SequenceNode)
            return node

    def construct_mapping(loader, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader names it below
                break
            if first is not None:
                raise _LimitError(
                    f"duplicate key {quote(key)} at line {key_node.start_mark.line + 1} (first "
                    f"at line {first + 1}); each parameter may be given once")
            seen[key] = key_node.start_mark.line
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    BoundedSafeLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return BoundedSafeLoader


def _check_expansion(root: Any, mapping: type, sequence: type) -> None:
    """Refuse a node graph that expands to more than MAX_EXPANDED_NODES, or is cyclic.

    Each distinct node is visited once (an alias is the same node object as its anchor),
    so the check costs the size of the file, not of the expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = []
        if isinstance(node, mapping):
            children = [c for pair in node.value for c in pair]
        elif isinstance(node, sequence):
            children = list(node.value)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[key] = total
            if total > MAX_EXPANDED_NODES:
                raise _LimitError(
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} values (from "
                    f"line {node.start_mark.line + 1}); write the values out instead of "
                    "nesting '*name' aliases")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise _LimitError(f"a YAML alias refers to itself (line {node.start_mark.line + 1})")
        on_path.add(key)
        stack.append((node, True))
        for c in children:
            if id(c) in on_path:
                raise _LimitError(
                    f"a YAML alias refers to itself (line {c.start_mark.line + 1})")
            if id(c) not in sizes:
                stack.append((c, False))


def parse_yaml(text: str, origin: str, *, error: type[TwinlineError] = RecipeError) -> Any:
    """Parse YAML ``text`` with the limits of this module; ``error`` on any problem.

    ``origin`` (the file name) starts every message.
    """
    import yaml

    fast = _loader_class(fast=True)
    if fast is not _loader_class():
        try:
            return yaml.load(text, Loader=fast)
        except Exception:  # read again below, for PyYAML's own message
            pass
    try:
        return yaml.load(text, Loader=_loader_class())  # a SafeLoader subclass
    except _LimitError as err:
        raise error(f"{origin}: {err}") from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise error(f"{origin}: malformed YAML{at}: {problem}") from None
    except RecursionError:  # a guard; MAX_DEPTH should stop it first
        raise error(f"{origin}: YAML nested too deeply") from None


def read_yaml(path: str | Path, *, what: str = "recipe",
              error: type[TwinlineError] = RecipeError, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse the YAML file ``path``, refusing what no person would write.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for messages (``"recipe"``, ``"materials file"``, ``"targets"``).
    error
        The exception type of the calling layer (a :class:`TwinlineError` subclass).
    max_bytes
        Size cap [bytes]; at most this much (plus one byte) is read.

    Returns
    -------
    The parsed YAML (``None`` for an empty file).

    Raises
    ------
    error
        Unreadable, too large, not UTF-8, malformed, duplicate key, or over a limit of
        this module; the message names the file.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            raw = fh.read(max_bytes + 1)
            if len(raw) > max_bytes:
                try:
                    size = _size(max(p.stat().st_size, len(raw)))
                except OSError:
                    size = f"more than {_size(max_bytes)}"
                raise error(f"{p}: the file is {size}, over the {_size(max_bytes)} limit for "
                            f"a {what}; a {what} is a few kilobytes of YAML — is it the right "
                            "file?")
    except OSError as err:
        raise error(f"{p}: cannot read {what} ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{p}: not a text (UTF-8) YAML file ({err.reason} at byte "
                    f"{err.start})") from None
    return parse_yaml(text, str(p), error=error)
