"""Headless core shared by the backend, the console and the admin CLI.

Wire schemas, enums, settings, phone normalisation, deadline rules, the HTTP client and its
errors. Imports no textual, typer, fastapi or whoosh.
"""

__version__ = "0.1.0"
