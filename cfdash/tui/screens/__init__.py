"""Modal screens: help, login, confirmation, market picker."""
