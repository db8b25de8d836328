"""The web service: the Flask app, framework-free handlers, fast path, render cache,
renderers, metrics, server."""
