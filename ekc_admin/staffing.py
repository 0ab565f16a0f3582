"""`ekc-admin staffing` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="staffing", no_args_is_help=True)
