"""The ``relitigate`` command line. Command modules import heavy libraries inside commands."""
