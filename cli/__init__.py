"""Thin Typer commands over flows and pipeline queries: parse, call one function, format."""
