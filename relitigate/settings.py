"""The front door's view of the settings: defined in :mod:`tasks.settings`, where a flow run in
a worker process (an entry point with no CLI around it) can read them too."""

from tasks.settings import (
    ENV_PREFIX,
    SUPPORTED_DRIVERS,
    Settings,
    SettingsError,
    default_data_dir,
    load_settings,
)

__all__ = [
    "ENV_PREFIX",
    "SUPPORTED_DRIVERS",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "load_settings",
]
