"""Dashboard widgets; each takes plain data (wire integers) and formats it itself."""
