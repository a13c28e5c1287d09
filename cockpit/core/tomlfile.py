"""Reading a user's TOML file (alert rules, a wall's playlist) so that every mistake is one line
naming the file and the line: bad encoding, bad TOML, and how a wrong value is quoted back."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Callable

# error(message, file=..., line=...) -> the caller's exception
ErrorFactory = Callable[..., Exception]


def show(value) -> str:
    """A value as a message quotes it: “text”, true, 一个表, 42."""
    if isinstance(value, str):
        return f"“{value}”"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "一个表"
    if isinstance(value, list):
        return "一个列表"
    return str(value)


def loads(text: str, file: str, error: ErrorFactory) -> dict:
    """Parsed TOML, or error(...) raised with the line and column tomllib points at."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)", message)
        if match:
            reason = message[:match.start()].strip()
            raise error(f"第 {match.group(2)} 列不是合法的 TOML（{reason}）", file=file,
                        line=int(match.group(1))) from None
        raise error(f"不是合法的 TOML（{message}）", file=file) from None


def read_text(path: Path, what: str, error: ErrorFactory) -> str:
    """The file as UTF-8 text (a BOM is fine), or error(...) naming the file (and the line of
    the first byte that is not UTF-8)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"无法读取{what}（{exc.strerror or exc}）", file=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error("不是 UTF-8 编码的文本", file=str(path), line=line) from None
