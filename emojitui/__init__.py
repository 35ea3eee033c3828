"""emojitui: real-time facial expression to emoji, in the terminal.

This module stays import-light on purpose: the trainer imports `emojitui.shared`, and
nothing on that path may pull in OpenCV, dlib, LiteRT or Textual.
"""

import os

__version__ = "0.1.0"

# Decoder chatter ("[mjpeg @ 0x...] overread 8" from a cut video, warnings while a camera
# reconnects) goes to the terminal the TUI draws on: quiet unless the user asks for it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
