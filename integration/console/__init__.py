"""Reads (selectors) behind the ops console's live pages: Link health, the order board, the trends."""
