"""Trainer: FER-2013 to the int8 TFLite model and model card that `emojitui` ships."""
