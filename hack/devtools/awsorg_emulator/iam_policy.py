"""IAM policy evaluation for Audit Manager requests, condition keys included.

moto's own evaluation, which serves its services, passes no request context to a statement's
Condition: a condition on a key it is not given holds, so a Deny with a condition denies
everywhere. Audit Manager is ours, so is its evaluation, as the IAM User Guide documents it
(reference_policies_evaluation-logic.html, reference_policies_elements_condition_operators.html,
reference_policies_condition-logic-multiple-context-keys-or-values.html):

- an explicit Deny in any statement that applies wins; otherwise an Allow that applies allows;
  otherwise the request is implicitly denied;
- a statement applies when its Action (or NotAction) matches the action, case-insensitively
  with * and ? wildcards, its Resource matches (Audit Manager's account-level operations have
  no resource: only "*" matches, as in moto), and every condition holds;
- operators of one block and keys of one operator combine with AND, values of one key with OR
  (NOR for a negated operator); a key absent from the request context fails a condition,
  except a negated operator or an ...IfExists one, which then holds; key names are
  case-insensitive, string values case-sensitive unless the operator ignores case.

The context has the keys the emulator knows: `aws:RequestedRegion`, the Region the request is
signed for. Any other key or operator is refused loudly (a 500 naming it) rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_Match = Callable[[str, str], bool]


def _like(actual: str, pattern: str) -> bool:
    return (
        re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), actual)
        is not None
    )


# operator -> (does a value match, is the operator negated)
_STRING_OPERATORS: dict[str, tuple[_Match, bool]] = {
    "StringEquals": (lambda a, p: a == p, False),
    "StringNotEquals": (lambda a, p: a == p, True),
    "StringEqualsIgnoreCase": (lambda a, p: a.lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, p: a.lower() == p.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
}
KNOWN_KEYS = ("aws:RequestedRegion",)


class NotEmulatedError(Exception):
    """A policy uses a condition the emulator does not evaluate."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False


def decide(
    documents: Iterable[Mapping[str, Any]], action: str, context: Mapping[str, str]
) -> Decision:
    """Whether `action` is allowed by these identity-based policy documents, in `context`
    (condition key -> value)."""
    lowered = {key.lower(): value for key, value in context.items()}
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, action, lowered):
                continue
            if statement.get("Effect") == "Deny":
                return Decision(allowed=False, explicit_deny=True)
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision(allowed=allowed)


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _values(element: Any) -> list[str]:
    return [element] if isinstance(element, str) else list(element or [])


def _applies(statement: Mapping[str, Any], action: str, context: Mapping[str, str]) -> bool:
    if "NotAction" in statement:
        concerned = not _matches_any(statement["NotAction"], action)
    else:
        concerned = _matches_any(statement.get("Action"), action)
    if not concerned:
        return False
    if "NotResource" in statement:
        on_resource = not any(_like("*", p) for p in _values(statement["NotResource"]))
    else:
        on_resource = any(_like("*", p) for p in _values(statement.get("Resource")))
    return on_resource and _conditions_hold(statement.get("Condition", {}), context)


def _matches_any(patterns: Any, action: str) -> bool:
    return any(_like(action.lower(), p.lower()) for p in _values(patterns))


def _conditions_hold(block: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in block.items():
        base, if_exists = operator, False
        if operator.endswith("IfExists"):
            base, if_exists = operator.removesuffix("IfExists"), True
        if base not in _STRING_OPERATORS:
            raise NotEmulatedError(f"condition operator {operator}")
        match, negated = _STRING_OPERATORS[base]
        for key, wanted in keys.items():
            if key.lower() not in {k.lower() for k in KNOWN_KEYS}:
                raise NotEmulatedError(f"condition key {key}")
            actual = context.get(key.lower())
            if actual is None:
                holds = if_exists or negated
            else:
                hit = any(match(actual, value) for value in _values(wanted))
                holds = hit is not negated
            if not holds:
                return False
    return True
