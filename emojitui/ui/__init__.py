"""The Textual interface. It renders the engine's state; it never computes it."""
