"""The one family of refusals a service may raise: a person or client asked for something that cannot be done now.

Callers (admin actions, API views, commands) catch ``ActionRefused`` and show its message; anything
else is a bug and is logged with its traceback.
"""


class ActionRefused(Exception):
    """The request was understood and refused; the message says why and what would work instead."""
