"""The matching engine and the server-side protocol state machine (pure)."""
