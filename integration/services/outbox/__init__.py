"""The outbox: every outbound call is a row committed with the change that caused it.

``calls`` (create, claim, send, settle: the worker loop), ``attempts`` (one row per try), ``kinds`` (the
registry of what each kind of call does), ``circuit`` (a circuit and request budget per host, shared by
every worker), ``backlog`` and ``drain`` (calls held while a host is down, sent when it is back) and
``sweep`` (due and abandoned calls re-enqueued).
"""
