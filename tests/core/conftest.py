"""The store's tests run against one Redis and against a local Redis Cluster."""

from tests.backends import backend, redis_client

__all__ = ["backend", "redis_client"]
