"""Alembic's environment for the store: migrations run on the connection the store hands over.

`Store` runs them at open (see `winloss.pipeline.storage.store`), inside its own transaction; there is no alembic.ini.
A developer adding a revision uses the alembic CLI against a scratch database, with a two-line ini naming this
folder (`[alembic]` / `script_location = pipeline/storage/migrations`):
`alembic -c scratch.ini -x url=sqlite:///scratch.db upgrade head`, then `... revision --autogenerate -m "..."`.
"""

from alembic import context
from sqlalchemy import create_engine
from winloss.pipeline.storage.store import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # the alembic CLI, see above
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
