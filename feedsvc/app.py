"""`gunicorn 'feedsvc.app:create_app()'` keeps working: the factory lives in feedsvc.web.app."""

from feedsvc.web.app import create_app

__all__ = ["create_app"]
