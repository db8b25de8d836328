"""Process tooling: the one-command launcher and a private local Redis."""
