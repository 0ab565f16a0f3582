"""`ekc-admin roster` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="roster", no_args_is_help=True)
