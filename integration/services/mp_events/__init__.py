"""Events for the marketplace's own services: ``events`` (types, emission in the change's transaction),
``feed`` (the pull API's pages, ordered by transaction id), ``endpoints`` (clients' webhook endpoints) and
``deliveries`` (signed pushes to those endpoints through the outbox)."""
