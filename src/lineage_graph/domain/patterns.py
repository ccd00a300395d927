"""Regular expressions that an admin may write into a group's rules, restricted so matching stays linear.

Python's `re` backtracks: `(a+)+$` against thirty `a`s and a `b` takes minutes, and a rule is matched on
every registration. Instead of a second regex engine, patterns are refused when they contain what makes
backtracking explode — a quantified group that itself holds a quantifier or an alternation (`(a+)+`,
`(a|aa)*`), backreferences and lookarounds — and they are short and matched against bounded values, so the
remaining polynomial cases stay small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_PATTERN = 200
MAX_UNBOUNDED_QUANTIFIERS = 4
_QUANTIFIER_START = frozenset("*+?{")


@dataclass
class _Group:
    has_quantifier: bool = False
    has_alternation: bool = False


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is refused, or None when it is a safe, valid regular expression."""
    if not pattern:
        return "must not be empty"
    if len(pattern) > MAX_PATTERN:
        return f"must be at most {MAX_PATTERN} characters (got {len(pattern)})"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    except (OverflowError, RecursionError):  # a repetition count or a nesting too large for the engine
        return "is not a valid regular expression: too large"
    stack: list[_Group] = [_Group()]
    unbounded = 0
    i = 0
    in_class = False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if escaped.isdigit() and escaped != "0" and not in_class:
                return "must not use backreferences (they make matching exponential)"
            i += 2
            continue
        if in_class:
            in_class = char != "]"
            i += 1
            continue
        if char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member of the class.
            i += 2 if pattern[i + 1 : i + 2] == "]" else 3 if pattern[i + 1 : i + 3] == "^]" else 1
            continue
        if char == "(":
            if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!", "(?P="), i):
                return "must not use lookarounds or backreferences"
            stack.append(_Group())
            if pattern[i + 1 : i + 2] == "?":
                # Skip the group's prefix ((?:, (?P<name>, (?i)) so its '?' is not read as a quantifier.
                end = re.match(r"\(\?(P<\w+>|[a-zA-Z-]*:?)", pattern[i:])
                i += end.end() if end else 2
                continue
        elif char == ")":
            inner = stack.pop()
            quantified = pattern[i + 1 : i + 2] in _QUANTIFIER_START
            if quantified and (inner.has_quantifier or inner.has_alternation):
                return (
                    "must not repeat a group that contains a repetition or an alternation, e.g. (a+)+ or "
                    "(a|b)* (matching it can take exponential time)"
                )
            if inner.has_quantifier or quantified:
                stack[-1].has_quantifier = True
            if inner.has_alternation:
                stack[-1].has_alternation = True
        elif char == "|":
            stack[-1].has_alternation = True
        elif char in _QUANTIFIER_START and i > 0:
            if char in "*+" or (char == "{" and re.match(r"\{\d*,\}", pattern[i:])):
                unbounded += 1
            stack[-1].has_quantifier = True
        i += 1
    if unbounded > MAX_UNBOUNDED_QUANTIFIERS:
        return f"must have at most {MAX_UNBOUNDED_QUANTIFIERS} unbounded repetitions (* + {{n,}})"
    return None


def full_match(pattern: str, value: str) -> bool:
    """Whether `value` matches `pattern` entirely (`pattern` is one `pattern_problem` accepted)."""
    return re.fullmatch(pattern, value) is not None
