"""The local one-command runner: every service and the gateway as separate processes."""
