"""Signals for the rest of the marketplace.

``order_state_changed``
    Sent once for every order state change, after the transaction that made it commits (never
    for a change that was rolled back). ``sender`` is the ``Order`` class; keyword arguments:

    - ``order_id`` (int): the order's primary key
    - ``external_order_id`` (str): the MP's order id
    - ``old_state``, ``new_state`` (str): ``Order.State`` values
    - ``cause`` (str): what moved it, e.g. ``"Link event order.ready evt_01HZX3K9"``,
      ``"user alice: ..."`` or ``"system: ..."`` (the same text as the order's transition log)

    Receivers run in the request or worker that made the change; keep them quick and hand slow
    work to a task. The signal is sent robustly: a receiver's exception is logged and neither
    reaches the caller nor stops other receivers (the change is already committed).

    Example::

        from django.dispatch import receiver
        from integration.signals import order_state_changed

        @receiver(order_state_changed)
        def notify_customer(sender, order_id, new_state, **kwargs):
            ...
"""

from django.dispatch import Signal

order_state_changed = Signal()
