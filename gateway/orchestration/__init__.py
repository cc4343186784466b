"""Orchestration: the calls to the model services and how their results are combined.

``pipeline`` (detection), ``recognition`` (detect with crops -> embed / match / enroll),
``attributes`` (the attributes service for /detect) and ``embedding_calls`` (typed
EmbeddingService RPCs). Routes shape what these return into the response models.
"""
