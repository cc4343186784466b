"""The real local stack for client tests (tests/clients, tests/browser): see deploy.local.stack."""

from deploy.local.stack import Stack, free_port, running_stack

__all__ = ["Stack", "free_port", "running_stack"]
