"""`ekc-admin shifts` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="shifts", no_args_is_help=True)
