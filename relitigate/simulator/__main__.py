"""``python -m relitigate.simulator``: the loopback provider simulator (no typer import)."""

from __future__ import annotations

import argparse

from relitigate.simulator.control import serve


def main() -> None:
    """Parse the arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m relitigate.simulator",
        description="Loopback OpenAI-compatible provider SIMULATOR (not a real provider).",
    )
    parser.add_argument("--profile", required=True, help="YAML/JSON profile of simulated models")
    parser.add_argument("--evalset", action="append", default=[], help="JSONL eval set")
    parser.add_argument("--host", default="127.0.0.1", help="loopback only")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    args = parser.parse_args()
    serve(args.profile, args.evalset, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
