"""emojitui: real-time facial expression to emoji, in the terminal.

This module stays import-light on purpose: the trainer imports `emojitui.shared`, and
nothing on that path may pull in OpenCV, dlib, LiteRT or Textual.
"""

__version__ = "0.1.0"
