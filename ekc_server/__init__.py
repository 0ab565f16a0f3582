"""The central REST backend: FastAPI app factory, tables, services, migrations."""
