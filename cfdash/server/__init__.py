"""`cfdash serve`: the websockets shell around core.engine."""
