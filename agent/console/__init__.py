"""The staff console: accounts, sessions, inbox, takeover and replies, served on its own listener."""

from agent.console.app import ConsoleParts, create_console_app
from agent.console.assembly import console_parts, run_console, staff_command

__all__ = ["ConsoleParts", "console_parts", "create_console_app", "run_console", "staff_command"]
