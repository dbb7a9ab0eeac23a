"""YAML reading that remembers where each key was written, so errors can name the line."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

from hpsearch.errors import ConfigError, Problem


class LineDict(dict):
    """A dict that also maps each key to the 1-based line it was written on."""

    lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        result = LineDict()
        result.lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key is None or not isinstance(key, str | int | float | bool):  # ``? [a, b]``, ``~: 1``
                what = "null" if key is None else f"a {'list' if isinstance(key, list) else 'mapping'}"
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be a name, got {what}", key_node.start_mark
                )
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=deep)
            result.lines[key] = key_node.start_mark.line + 1
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)


MAX_BYTES = 1_000_000  # a config is a few hundred bytes; anything near this is not one
MAX_NODES = 100_000  # values after expanding aliases: a 500-byte "billion laughs" expands to 10**9
MAX_DEPTH = 50  # nesting levels; real configs use 4
MAX_INT_DIGITS = 19  # any integer a config needs fits in 64 bits; 400 digits would only crash something later


def read_yaml(path: Path) -> Any:
    """Parse ``path``; a missing file or malformed YAML becomes a ConfigError naming file and line.

    Only a regular file of at most MAX_BYTES is read (a FIFO or /dev/zero would block or never end),
    and its YAML is bounded before it is built: aliases that expand past MAX_NODES values, or
    nesting deeper than MAX_DEPTH, are refused, so no config can make hpsearch use unbounded memory.
    """
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        _check_size(node)
        return None if node is None else _LineLoader(text).construct_document(node)
    except yaml.reader.ReaderError as exc:  # a NUL or other control character: no mark, a position
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError([Problem("", f"malformed YAML: character {exc.character!r} is not allowed in a YAML file "
                                       f"(a binary file, or a stray control character?)", line)], str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError([Problem("", f"malformed YAML: {problem}", line)], str(path)) from None
    except RecursionError:
        raise ConfigError([Problem("", f"nested more than {MAX_DEPTH} levels deep")], str(path)) from None
    except _TooBig as exc:
        raise ConfigError([Problem("", str(exc), exc.line)], str(path)) from None


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"cannot read config file: {path} is not a regular file", source=str(path))
        if info.st_size > MAX_BYTES:
            raise ConfigError(f"cannot read config file: {info.st_size} bytes is not a config (at most {MAX_BYTES})",
                              source=str(path))
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:  # a directory, no permission, a symlink loop, not UTF-8
        raise ConfigError(f"cannot read config file: {exc}", source=str(path)) from None


_INT_TAG = "tag:yaml.org,2002:int"


class _TooBig(Exception):
    def __init__(self, message: str, node: yaml.Node) -> None:
        super().__init__(message)
        self.line = node.start_mark.line + 1


def _check_size(root: yaml.Node | None) -> None:
    """Count the values ``root`` expands to (an alias counts its whole target again) and its depth,
    without building anything; iterative, so depth itself cannot exhaust the stack. An integer too
    long for any setting is refused here too, naming its key (Python would refuse past 4300 digits
    with a traceback, and a shorter one would crash whatever it reached)."""
    if root is None:
        return
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool, str]] = [(root, 1, False, "")]
    while stack:
        node, depth, children_done, where = stack.pop()
        if depth > MAX_DEPTH:
            raise _TooBig(f"nested more than {MAX_DEPTH} levels deep", node)
        children = _children(node, where)
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG and len(node.value.lstrip("+-0")) > MAX_INT_DIGITS:
            raise _TooBig(f"{where + ': ' if where else ''}an integer of {len(node.value.lstrip('+-'))} digits; "
                          f"no setting takes one beyond {MAX_INT_DIGITS} digits", node)
        if children_done or not children:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c, _ in children)
            if sizes[id(node)] > MAX_NODES:
                raise _TooBig(f"expands to more than {MAX_NODES} values (YAML aliases?); a config needs far fewer", node)
        elif id(node) not in sizes:
            stack.append((node, depth, True, where))
            stack.extend((c, depth + 1, False, w) for c, w in children if id(c) not in sizes)


def _children(node: yaml.Node, where: str) -> list[tuple[yaml.Node, str]]:
    """A node's children, each with its key path (``space.lr.high``) for messages."""
    if isinstance(node, yaml.MappingNode):
        out = []
        for key, value in node.value:
            name = f"{where}.{key.value}" if where and isinstance(key, yaml.ScalarNode) else (
                str(key.value) if isinstance(key, yaml.ScalarNode) else where)
            out += [(key, where), (value, name)]
        return out
    return [(c, where) for c in node.value] if isinstance(node, yaml.SequenceNode) else []


def line_of(mapping: Any, key: str) -> int | None:
    return getattr(mapping, "lines", {}).get(key)
