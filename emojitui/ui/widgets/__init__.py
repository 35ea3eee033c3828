"""One widget per file; each exposes a `show(...)` method and renders only what it is given."""
