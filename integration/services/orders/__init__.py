"""Orders: pricing, placement, submission, Link's lifecycle reports, cancellation, recovery.

Every service locks the order row (``select_for_update``) before it reads the state it decides
on, so an MP cancel and a Link event racing on two threads serialize and neither loses the
other's update. Lock order: the outbox settles a call (call row locked) and then locks the order;
services that hold an order and need one of its calls take the call with ``skip_locked``, and a
call they cannot lock is being sent or settled right now ("in flight"). So no two paths wait on
each other.
"""
