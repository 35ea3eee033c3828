"""The engine layer: frame -> faces -> expression probabilities -> smoothed labels.

`engine` (the `Engine`), `settings` (its tunable settings, importable without OpenCV or dlib),
`faces` (detect, track, crop), `classifier` (the expression model), `smoothing` (per-face label
smoothing) and `emoji_table` (which emoji each class shows). No Textual or Rich here, and this
module imports nothing so that `emojitui.engine.settings` stays instant for `--help`.
"""
