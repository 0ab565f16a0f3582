"""The user's saved login: `credentials.json` in the config folder, mode 0600."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

FILE_NAME = "credentials.json"


class Credentials(BaseModel):
    server_url: str
    username: str
    token: str
    expires_at: datetime | None = None


def credentials_path(config_dir: Path) -> Path:
    return config_dir / FILE_NAME


def load_credentials(config_dir: Path) -> Credentials | None:
    """The saved login, or None when there is none (or it is unreadable)."""
    path = credentials_path(config_dir)
    try:
        return Credentials.model_validate_json(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValidationError, json.JSONDecodeError):
        return None


def save_credentials(config_dir: Path, credentials: Credentials) -> Path:
    """Write atomically with mode 0600 (the token is a secret)."""
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = credentials_path(config_dir)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(credentials.model_dump_json(indent=2))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def delete_credentials(config_dir: Path) -> bool:
    try:
        credentials_path(config_dir).unlink()
    except FileNotFoundError:
        return False
    return True
