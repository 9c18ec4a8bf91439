"""Errors about stack keys, told in the words of the command that was typed.

A step command builds a spec section from its flags; validation and the kinds' preflight
checks name stack keys (``load_balancer.https.certificate: ...``). Inside
``named_flags({...})`` such an error names the flag instead (``--certificate: ...``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager


def rename(message: str, flags: Mapping[str, str]) -> str:
    body = message.removeprefix("stack: ")
    for key in sorted(flags, key=len, reverse=True):
        if body.startswith(f"{key}: "):
            return f"{flags[key]}: {body[len(key) + 2:]}"
        if body.startswith(f"{key}."):
            full, _, rest = body.partition(": ")
            return f"{flags[key]} ({full}): {rest}"
    return message


@contextmanager
def named_flags(flags: Mapping[str, str]) -> Iterator[None]:
    from awslb.errors import InputError

    try:
        yield
    except InputError as exc:
        raise InputError(rename(exc.message, flags), exc.hint) from None
