"""Where this PC's cockpit keeps its alert state and reads its warehouse: `COCKPIT_HOME/settings.toml`.

A command centre's PCs and a city's centres share one operations store (PostgreSQL) and one
warehouse (a DuckLake); each PC says so once in its settings file instead of on every command:

    [operations]
    url = "postgresql://cockpit@10.0.0.5/cockpit"        # the alert lifecycle and audit trail

    [warehouse]
    db = "ducklake:postgresql://cockpit@10.0.0.5/cockpit_lake"
    data_path = "Z:/cockpit-lake"                           # optional: where this PC sees the Parquet

What wins, for the operations store: `--ops`, then COCKPIT_OPS_URL, then the file, then the
SQLite file under COCKPIT_HOME; for the warehouse: `--db`, then the file, then the demo folder.
Passwords belong in PostgreSQL's own password file (~/.pgpass, %APPDATA%/postgresql/pgpass.conf),
not here: the file is shown on screen by `cockpit config`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .tomlfile import loads, read_text

FILE_NAME = "settings.toml"
OPS_ENV = "COCKPIT_OPS_URL"
# Sections and keys the file may hold; anything else is a typo worth one line.
KEYS = {"operations": ("url",), "warehouse": ("db", "data_path")}


class SettingsError(Exception):
    """The settings file cannot be used; one line naming the file (and the line)."""

    def __init__(self, message: str, file: str = "", line: int | None = None):
        where = f"{file}" + (f" 第 {line} 行" if line else "")
        super().__init__(f"{where}：{message}" if where else message)


def settings_path() -> Path:
    from ..paths import home_dir

    return home_dir() / FILE_NAME


@dataclass(frozen=True)
class Settings:
    ops: str | None = None           # operations store: a PostgreSQL URL or an SQLite file
    db: str | None = None            # warehouse: a snapshot folder or ducklake:<catalog>
    data_path: str | None = None     # a DuckLake's Parquet folder as this PC sees it


def load(path: Path | None = None) -> Settings:
    path = path or settings_path()
    if not path.is_file():
        return Settings()
    data = loads(read_text(path, "设置文件", SettingsError), str(path), SettingsError)
    for section, values in data.items():
        if section not in KEYS or not isinstance(values, dict):
            raise SettingsError(f"未知的设置项 [{section}]（可用：{', '.join(KEYS)}）", str(path))
        for key, value in values.items():
            if key not in KEYS[section]:
                raise SettingsError(f"[{section}] 中没有 {key} 这一项（可用："
                                    f"{', '.join(KEYS[section])}）", str(path))
            if not isinstance(value, str) or not value.strip():
                raise SettingsError(f"[{section}] {key} 应为非空字符串", str(path))
    ops = data.get("operations", {})
    warehouse = data.get("warehouse", {})
    return Settings(ops=ops.get("url"), db=warehouse.get("db"),
                    data_path=warehouse.get("data_path"))


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings file (a temporary file renamed over the old one)."""
    path = path or settings_path()
    lines = ["# 城市大脑驾驶舱 · 本机设置（cockpit config 写入，可手工编辑）", ""]
    if settings.ops:
        lines += ["[operations]", f"url = {_quote(settings.ops)}", ""]
    if settings.db or settings.data_path:
        lines.append("[warehouse]")
        if settings.db:
            lines.append(f"db = {_quote(settings.db)}")
        if settings.data_path:
            lines.append(f"data_path = {_quote(settings.data_path)}")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# `--ops` given on the command line, for everything this process opens.
_ops_override: str | None = None


def override_ops(location: str | None) -> None:
    global _ops_override
    _ops_override = location


def ops_location(explicit: str | Path | None = None) -> str | None:
    """The operations store to use: a PostgreSQL URL, an SQLite path, or None (the default
    SQLite file under COCKPIT_HOME)."""
    for value in (explicit, _ops_override, os.environ.get(OPS_ENV)):
        if value:
            return str(value)
    return load().ops


def is_postgres_url(location: str | Path | None) -> bool:
    return bool(location) and re.match(r"(postgres|postgresql)://", str(location)) is not None


def redact(url: str) -> str:
    """A connection URL as it may be shown: the password replaced by ***."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# libpq's commonest complaints, as an operator reads them on the banner.
_PG_REASONS = (
    ("connection refused", "连接被拒绝，服务器可能没有运行"),
    ("server closed the connection", "服务器断开了连接，可能正在重启"),
    ("terminating connection", "服务器断开了连接，可能正在重启"),
    ("the database system is shutting down", "服务器正在关闭"),
    ("the database system is starting up", "服务器正在启动"),
    ("timeout expired", "连接超时，服务器或网络无响应"),
    ("could not translate host name", "找不到服务器主机名"),
    ("password authentication failed", "用户名或密码不对"),
    ("no password supplied", "需要密码（写在 PostgreSQL 的密码文件 pgpass 中）"),
)


def pg_reason(exc: Exception, lang: str = "zh_CN") -> str:
    """A PostgreSQL driver error as a few words: a known cause in Chinese (libpq's own first
    line in English, or for an unknown cause)."""
    text = (" ".join(str(exc).strip().splitlines()[:1]) or type(exc).__name__)[:200]
    lowered = text.lower()
    for needle, words in _PG_REASONS:
        if needle in lowered and lang != "en":
            return words
    return text
