"""The FaceFlow HTTP gateway: auth, validation, orchestration of the gRPC model services."""
