"""The kinds of setting: each declares a Settings field and its row of the settings table.

`number("FEEDSVC_X", 3.0, at_least=0, meaning=...)` in a dataclass body is a field whose
metadata holds a Setting: how the variable is parsed, checked, rendered back and documented.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

from feedsvc.config.rules import Rule, redact_url
from feedsvc.errors import ConfigError

SETTING = "setting"  # the key of a Setting in its field's metadata

Derive = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: how a variable is read, checked, written and explained."""

    variable: str
    meaning: str
    kind: str  # what the variable holds, for the README: "number", "text", ...
    parse: Callable[[str, str], Any]  # (variable, raw) to value, or ConfigError
    render: Callable[[Any], str]  # value to raw: the inverse of parse
    default: Any = None
    documented_default: str | None = None  # when the default value says too little
    derive: Derive | None = None  # the default from the settings declared before
    at_least: float | None = None
    rule: Rule | None = None
    secret: bool = False
    attribute: str = ""  # the Settings field, filled in from the dataclass

    def default_for(self, earlier: Mapping[str, Any]) -> Any:
        """The default, given the values of the settings declared before this one."""
        return self.derive(earlier) if self.derive else copy.copy(self.default)

    def read(self, raw: str, earlier: Mapping[str, Any]) -> Any:
        """The value of an environment variable, or the default when it is unset or blank."""
        raw = raw.strip()
        if not raw:
            return self.default_for(earlier)
        value = self.parse(self.variable, raw)
        self._check(value, shown=raw)
        return value

    def check(self, value: Any) -> None:
        """Raise ConfigError, one line naming the variable, when `value` breaks a bound or rule."""
        self._check(value, shown=value)

    def _check(self, value: Any, shown: Any) -> None:
        problem = self._problem(value)
        if problem is not None:
            if isinstance(shown, str) and "://" in shown:
                shown = redact_url(shown)
            raise ConfigError(f"{self.variable}={shown!r}{problem}")

    def _problem(self, value: Any) -> str | None:
        # The two message shapes of old: "X='0' must be at least 1", "X='a': must be ...".
        if value is None:
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return " must be a finite number"
        if self.at_least is not None and value < self.at_least:
            return f" must be at least {self.at_least:g}"
        if self.rule is not None and not self.rule.holds(value):
            return f": {self.rule.problem}"
        return None

    def markdown_row(self) -> str:
        default = self.documented_default or f"`{self.render(self.default)}`"
        accepts = self.rule.accepts if self.rule else self.kind
        if self.at_least is not None:
            accepts += f" ≥ {self.at_least:g}"
        return f"| `{self.variable}` | {default} | {accepts} | {self.meaning} |"


def number(
    variable: str,
    default: float,
    *,
    at_least: float,
    meaning: str,
    documented_default: str | None = None,
    derive: Derive | None = None,
) -> float:
    setting = Setting(
        variable, meaning, "number", _parse_number, _render_number, default,
        documented_default=documented_default, derive=derive, at_least=at_least,
    )  # fmt: skip
    return cast(float, _declare(setting))


def whole(
    variable: str,
    default: int,
    *,
    at_least: int,
    meaning: str,
    documented_default: str | None = None,
) -> int:
    setting = Setting(
        variable, meaning, "whole number", _parse_whole, str, default,
        documented_default=documented_default, at_least=at_least,
    )  # fmt: skip
    return cast(int, _declare(setting))


def text(
    variable: str,
    default: str,
    *,
    meaning: str,
    rule: Rule | None = None,
    normalize: Callable[[str], str] = str,
    documented_default: str | None = None,
    derive: Derive | None = None,
) -> str:
    parse = partial(_parse_text, normalize=normalize)
    setting = Setting(
        variable, meaning, "text", parse, str, default,
        documented_default=documented_default, derive=derive, rule=rule,
    )  # fmt: skip
    return cast(str, _declare(setting))


def optional(
    variable: str,
    *,
    meaning: str,
    documented_default: str,
    rule: Rule | None = None,
    secret: bool = False,
) -> str | None:
    """A text setting that may be unset (None); a secret one stays out of repr."""
    setting = Setting(
        variable, meaning, "text", _parse_text, str, None,
        documented_default=documented_default, rule=rule, secret=secret,
    )  # fmt: skip
    return cast("str | None", _declare(setting))


def flag(variable: str, default: bool, *, meaning: str) -> bool:
    setting = Setting(variable, meaning, "`0` or `1`", _parse_flag, _render_flag, default)
    return cast(bool, _declare(setting))


def path(variable: str, default: Path, *, meaning: str, documented_default: str) -> Path:
    setting = Setting(
        variable, meaning, "file path", _parse_path, str, default,
        documented_default=documented_default,
    )  # fmt: skip
    return cast(Path, _declare(setting))


Prices = dict[str, tuple[float, float]]


def prices(variable: str, default: Prices, *, meaning: str) -> Prices:
    """USD per million tokens (in, out) by model; the variable adds to and overrides `default`."""
    setting = Setting(
        variable, meaning, "`model=in:out,...`",
        parse=partial(_parse_prices, base=default), render=partial(_render_prices, base=default),
        default=default, documented_default=", ".join(default),
    )  # fmt: skip
    return cast(Prices, _declare(setting))


def _declare(setting: Setting) -> Any:
    metadata = {SETTING: setting}
    if isinstance(setting.default, dict):
        factory: Callable[[], Prices] = partial(dict, setting.default)
        return field(default_factory=factory, repr=not setting.secret, metadata=metadata)
    return field(default=setting.default, repr=not setting.secret, metadata=metadata)


def _parse_number(variable: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a number") from None


def _parse_whole(variable: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{variable}={raw!r} is not a whole number") from None


def _parse_text(variable: str, raw: str, normalize: Callable[[str], str] = str) -> str:
    return normalize(raw)


def _parse_flag(variable: str, raw: str) -> bool:
    if raw not in {"0", "1"}:
        raise ConfigError(f"{variable}={raw!r}: must be one of 0, 1")
    return raw == "1"


def _parse_path(variable: str, raw: str) -> Path:
    return Path(raw)


def _parse_prices(variable: str, raw: str, base: Prices) -> Prices:
    """'model=in:out,...' in USD per million tokens, over `base`."""
    prices = dict(base)
    for item in filter(None, (part.strip() for part in raw.split(","))):
        model, _, pair = item.partition("=")
        try:
            tokens_in, tokens_out = (float(x) for x in pair.split(":"))
            if not (math.isfinite(tokens_in) and math.isfinite(tokens_out)):
                raise ValueError(pair)
        except ValueError:
            raise ConfigError(
                f"{variable}: {item!r} is not model=input:output (USD per million tokens)"
            ) from None
        prices[model.strip()] = (tokens_in, tokens_out)
    return prices


def _render_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _render_flag(value: bool) -> str:
    return "1" if value else "0"


def _render_prices(value: Prices, base: Prices) -> str:
    changed = {model: price for model, price in value.items() if base.get(model) != price}
    return ",".join(
        f"{model}={_render_number(tokens_in)}:{_render_number(tokens_out)}"
        for model, (tokens_in, tokens_out) in changed.items()
    )
