"""``python -m dp_data_api [--host H] [--port P]``: ``dp serve api`` (how the local stack starts the API)."""

import sys

from dp_core.cli.main import main

raise SystemExit(main(["serve", "api", *sys.argv[1:]]))
