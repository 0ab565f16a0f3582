"""`ekc-admin staff` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="staff", no_args_is_help=True)
