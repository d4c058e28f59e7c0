"""CLI: python -m awsorg_emulator --host H --port P [--seed S] [--maintenance-mode on|off]"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .seeds import Seed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m awsorg_emulator",
        description="Organizations, STS, IAM (moto) and Audit Manager on one endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)"
    )
    parser.add_argument(
        "--seed",
        choices=[s.value for s in Seed],
        default=Seed.EXISTING_CUSTOMER.value,
        help="starting state (default existing-customer)",
    )
    parser.add_argument(
        "--maintenance-mode",
        choices=["on", "off"],
        default="on",
        help="Audit Manager maintenance mode since 2026-04-30 (default on)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # moto would prefer this variable over the per-request account the emulator resolves.
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from .server import serve  # imports moto: keep --help fast

    return serve(args.host, args.port, Seed(args.seed), args.maintenance_mode == "on")


if __name__ == "__main__":
    sys.exit(main())
