"""The session layer: one run of the engine over a source, as the user sees it.

`session` (the `Session`: engine, history and timelines, closed once), `history` (the JSON-lines
log of emotion changes and the summary), `snapshot` and `overlay` (the annotated picture `s`
saves) and `emoji_art` (the bundled emoji images). The UI and headless modes sit above it.
"""
