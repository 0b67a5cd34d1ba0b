"""Where the config file is, where the data goes, and the starter files `winloss init` writes.

Config, first found: --config > $WINLOSS_CONFIG > ./winloss.toml > ./config/winloss.toml (a checkout of the
repository) > the user config dir (platformdirs) > the defaults packaged with winloss. The data dir is the one the
config sets (relative to the working directory), else the user data dir.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs
from winloss.pipeline.errors import ConfigError

APP = "winloss"
CONFIG_NAME = "winloss.toml"
PLAYBOOK_NAME = "playbook.toml"
ENV_CONFIG = "WINLOSS_CONFIG"


@dataclass(frozen=True)
class ConfigLocation:
    path: Path
    origin: str  # how it was found: "--config", "WINLOSS_CONFIG", "./winloss.toml", ..., "packaged defaults"

    @property
    def packaged(self) -> bool:
        return self.origin == PACKAGED


PACKAGED = "packaged defaults"


def packaged_file(name: str) -> Path:
    """A config file shipped in the package (`winloss.config`): the repository's config/ in a checkout."""
    return Path(str(resources.files("winloss.config").joinpath(name)))


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / CONFIG_NAME


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def find_config(explicit: Path | None = None) -> ConfigLocation:
    """The config file to read, and how it was found (see the module docstring for the order)."""
    if explicit:
        return ConfigLocation(Path(explicit), "--config")
    if env := os.environ.get(ENV_CONFIG):
        return ConfigLocation(Path(env), ENV_CONFIG)
    candidates = [(Path(CONFIG_NAME), f"./{CONFIG_NAME}"), (Path("config") / CONFIG_NAME, f"./config/{CONFIG_NAME}"),
                  (user_config_file(), "user config dir")]
    for path, origin in candidates:
        if path.is_file():
            return ConfigLocation(path, origin)
    return ConfigLocation(packaged_file(CONFIG_NAME), PACKAGED)


# The packaged config sets data_dir = ".winloss" for `make demo` in a checkout; a config written by `winloss init`
# leaves it to the user data dir, with the line commented out to show how to set it.
_DATA_DIR_LINE = re.compile(r'^data_dir = ".winloss"\s*$', re.MULTILINE)


def starter_config() -> str:
    text = packaged_file(CONFIG_NAME).read_text(encoding="utf-8")
    line = (f"# data_dir = \"winloss-data\"   # where the store, index and reports live; unset: the user data dir "
            f"({user_data_dir()})")
    return _DATA_DIR_LINE.sub(line.replace("\\", "\\\\"), text, count=1)


def write_starter(folder: Path, force: bool = False) -> list[Path]:
    """Write winloss.toml and playbook.toml into `folder` (created if needed); refuse to overwrite without `force`."""
    config, playbook = folder / CONFIG_NAME, folder / PLAYBOOK_NAME
    existing = [p for p in (config, playbook) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{', '.join(map(str, existing))}: already there; edit it, or pass --force to overwrite "
                          f"with the starter files")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config.write_text(starter_config(), encoding="utf-8")
        playbook.write_text(packaged_file(PLAYBOOK_NAME).read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot write the starter config there ({exc.strerror}); choose another "
                          f"folder: `winloss init DIR`") from None
    return [config, playbook]
