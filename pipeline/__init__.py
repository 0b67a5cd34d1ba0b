"""winloss domain: calls in, findings with evidence out. Knows nothing of Prefect or Typer."""
