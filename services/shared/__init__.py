"""Code every FaceFlow service shares: settings, server bootstrap, interceptors, image
decoding, alignment, the TFLite runtime and the model store. Never copy these into a service."""
