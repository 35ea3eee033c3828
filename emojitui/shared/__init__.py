"""What the trainer and the app share: class names, emoji, the model card, atomic writes.

Standard library only, so the trainer can import it without pulling in the app's runtime.
"""
