"""The REST API's kernel: tokens and scopes, errors, idempotency, rate limits, webhooks.

Each app keeps its own endpoints in ``<app>/apis.py``; they call the app's services and
selectors and inherit from :class:`leadflow.api.views.Api`, which brings the rest.
"""
