"""Menus: Link's menu events (``events``), fetching a menu document (``fetching``), and ingesting
it (``ingest``) into normalized rows (``rows``).

``menu.published`` only announces a version; the document is fetched through the outbox (kind
``fetch_menu``) and ingested when that call succeeds. Ingest runs on the locked Menu row: an
older version is dropped, an unchanged document (same content hash) touches only the Menu row,
anything else replaces the rows wholesale (delete, then bulk insert) in one transaction. A
refused or unreachable menu leaves the live one in place and says why on the Menu.
"""
