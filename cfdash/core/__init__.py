"""The sans-I/O core: every protocol rule, with no sockets, threads, files or Textual."""
