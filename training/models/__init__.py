"""Network definitions rebuilt in Keras 3 (imported weights) for export to TFLite."""
