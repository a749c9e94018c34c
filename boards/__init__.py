"""Board files: pins and port map only, one module per CircuitPython board_id."""
