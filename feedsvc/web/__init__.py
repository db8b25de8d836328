"""The web service: Flask factory, routes, fast path, render cache, renderers, metrics, server."""
