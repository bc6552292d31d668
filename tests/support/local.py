"""This machine's servers, as tests and benchmarks need them: a free loopback port for a server
of their own, and a restart of the local PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def restart_postgres() -> None:
    """Restart the machine's PostgreSQL cluster (connections drop, committed data stays)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )
