"""What the trainer and the app share: class names, emoji, the model card, atomic writes, the
LiteRT runtime (`litert`), colours, errors the user can fix, where files live.

Standard library only (and NumPy for `litert`, which imports LiteRT itself only when a model is
loaded), so the trainer can import it without pulling in the app's runtime.
"""
