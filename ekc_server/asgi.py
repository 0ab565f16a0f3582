"""ASGI entry point for uvicorn / gunicorn workers: settings come from the environment.

`uvicorn ekc_server.asgi:app` builds the app when this module is imported by the server
process, never when the package is imported elsewhere.
"""

from ekc_server.app import create_app

app = create_app()
