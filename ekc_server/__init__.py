"""The central REST backend: FastAPI app factory, tables, services, migrations."""

import warnings

from pydantic.warnings import UnsupportedFieldAttributeWarning

# The wire models defer building their validators (clients start faster: ekc_core.schemas).
# FastAPI then wraps a request body model as `Annotated[Model, Body(alias="body")]` in a
# TypeAdapter, and pydantic notes that this alias has no effect there; it has none by
# design (the body is read whole), so the note is silenced here, for that alias only.
warnings.filterwarnings(
    "ignore",
    message="The 'alias' attribute with value 'body'",
    category=UnsupportedFieldAttributeWarning,
)
