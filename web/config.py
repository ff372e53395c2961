"""Settings: config.toml holds every default; MENTORLIVE_<SECTION>_<KEY> overrides it."""

from __future__ import annotations

import builtins
import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.toml"
ENV_PREFIX = "MENTORLIVE_"


class ConfigError(ValueError):
    pass


def _coerce(raw: str, default: Any, name: str) -> Any:
    # The default's type decides how an environment string is read.
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, list):
            raw = raw.strip()
            if raw.startswith("["):
                value = json.loads(raw)
                if not isinstance(value, list):
                    raise ValueError(raw)
                return value
            return [part.strip() for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot read {raw!r} as {type(default).__name__}") from exc
    return raw


@dataclass
class Config:
    """Nested sections as plain dicts, read through typed accessors."""

    sections: dict[builtins.str, dict[builtins.str, Any]]
    root: Path = field(default=PROJECT_ROOT)

    def get(self, section: builtins.str, key: builtins.str) -> Any:
        try:
            return self.sections[section][key]
        except KeyError as exc:
            raise ConfigError(f"unknown setting [{section}] {key}") from exc

    def str(self, section: builtins.str, key: builtins.str) -> builtins.str:
        return str(self.get(section, key))

    def int(self, section: builtins.str, key: builtins.str) -> builtins.int:
        return int(self.get(section, key))

    def float(self, section: builtins.str, key: builtins.str) -> builtins.float:
        return float(self.get(section, key))

    def bool(self, section: builtins.str, key: builtins.str) -> builtins.bool:
        return bool(self.get(section, key))

    def list(self, section: builtins.str, key: builtins.str) -> builtins.list[Any]:
        return list(self.get(section, key))

    def path(self, section: builtins.str, key: builtins.str) -> Path:
        """A path setting; relative ones are anchored at the project folder."""
        value = Path(self.str(section, key))
        return value if value.is_absolute() else self.root / value

    def data_path(self, section: builtins.str, key: builtins.str) -> Path:
        """A path setting for runtime data; relative ones live under `[paths] data_dir`."""
        value = Path(self.str(section, key))
        return value if value.is_absolute() else self.data_dir / value

    @property
    def data_dir(self) -> Path:
        """`[paths] data_dir`: everything an instance writes at runtime (secrets, the SQLite database,
        uploads, recordings, models). Relative: under the project folder. Two instances with different
        data folders share nothing, and tests point it at a temporary folder."""
        value = Path(self.str("paths", "data_dir"))
        return value if value.is_absolute() else self.root / value

    @property
    def var_dir(self) -> Path:
        """The data folder under its old name."""
        return self.data_dir

    @property
    def database_url(self) -> builtins.str:
        """`[database] url`, with a relative SQLite path anchored at the data folder (not the shell's cwd)."""
        url = self.str("database", "url")
        prefix = "sqlite+aiosqlite:///"
        if not url.startswith(prefix) or ":memory:" in url:
            return url
        path = Path(url[len(prefix):])
        path = path if path.is_absolute() else self.data_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)

    def with_overrides(self, overrides: Mapping[builtins.str, Mapping[builtins.str, Any]]) -> Config:
        sections = {name: dict(values) for name, values in self.sections.items()}
        for name, values in overrides.items():
            sections.setdefault(name, {}).update(values)
        return Config(sections=sections, root=self.root)


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    path = path or DEFAULT_CONFIG_PATH
    with path.open("rb") as fh:
        sections: dict[str, dict[str, Any]] = tomllib.load(fh)
    env = os.environ if environ is None else environ
    for section, values in sections.items():
        for key, default in values.items():
            name = f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
            if name in env:
                values[key] = _coerce(env[name], default, name)
    config = Config(sections=sections, root=path.resolve().parent)
    if overrides:
        config = config.with_overrides(overrides)
    return config


def ensure_secret(config: Config, section: str, key: str, filename: str) -> str:
    """Return the configured secret, or one generated once and kept in the data folder."""
    value = config.str(section, key)
    if value:
        return value
    store = config.var_dir / filename
    if store.exists():
        return store.read_text().strip()
    config.var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    store.write_text(value)
    store.chmod(0o600)
    return value
