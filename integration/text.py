"""What PostgreSQL can store as text (and in jsonb): no NUL character, no lone surrogate.

JSON lets a peer send both ("\\u0000", "\\ud800"); Python keeps them in a str; PostgreSQL refuses
them at the INSERT. Check (``text_problem``) where a value is accepted, or spell them out
(``storable``) where a value is only recorded (an error, an answer kept for ops).
"""


def text_problem(value: str) -> str | None:
    """Why PostgreSQL cannot store ``value`` as text (a NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains a lone surrogate (U+{ord(value[exc.start]):04X})"
    return None


def storable(text: str) -> str:
    """``text`` with NULs and lone surrogates spelled out (\\x00, \\ud800), so that it can be stored."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def json_problem(data) -> str | None:
    """Why PostgreSQL's jsonb cannot store ``data`` (a key or string in it holds a NUL or a lone
    surrogate), or None. Iterative: decoded JSON may nest as deep as its parser allowed."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if why := text_problem(node):
                return why
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None
