"""The liveness service: passive anti-spoofing (MiniFASNet) and action-challenge sessions."""
