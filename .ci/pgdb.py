"""Create or drop a scratch PostgreSQL database for CI; prints its URL on create."""

import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

admin_url, action, name = sys.argv[1], sys.argv[2], sys.argv[3]
engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    if action == "create":
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        print(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    else:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
