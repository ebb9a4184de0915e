"""The EMIS district sync client: `emis-sync` on the command line, `Client` for Python."""

__version__ = "0.1.0"

from sync_client.client import Client, ClientError

__all__ = ["Client", "ClientError", "__version__"]
