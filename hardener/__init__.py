"""compose-harden: harden the networking of Docker Compose files."""

__version__ = "0.1.0"
