"""The Jinja2 environment of the HTML views: templates are package data (pipeline/render/templates/), autoescape is on
for every template, and an undefined name fails the render instead of printing nothing."""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def environment() -> jinja2.Environment:
    """One environment per process: Jinja2 compiles each template once and keeps it."""
    return jinja2.Environment(loader=jinja2.PackageLoader("winloss.pipeline.render", "templates"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=False)


def render_template(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
