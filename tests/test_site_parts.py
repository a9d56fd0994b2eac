"""The site's pure parts: the SVG pictures, who may see what, the token in the config."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from monitor.config import MatterConfig, SubscriptionConfig, load_config
from monitor.errors import ConfigError
from monitor.models import Matter
from monitor.web.access import PUBLIC, Viewer, viewer_for_token
from monitor.web.charts import (
    NONE_SHADE,
    SHADES,
    STATE_TILES,
    month_series,
    monthly_bars,
    state_tile_map,
)


def _fill(svg: str, state: str) -> str:
    found = re.search(rf'data-state="{state}">(?:<a [^>]*>)?<rect [^>]*fill="([^"]+)"', svg)
    assert found is not None, state
    return found.group(1)


def test_the_map_shades_more_agencies_darker_and_names_every_state() -> None:
    svg = state_tile_map({"TX": 40, "FL": 20, "GA": 1}, title="Agencies <by> state")
    assert svg.count('class="tile"') == len(STATE_TILES) >= 51
    order = [SHADES.index(_fill(svg, s)) for s in ("GA", "FL", "TX")]
    assert order == sorted(order) and order[0] < order[-1]
    assert _fill(svg, "TX") == SHADES[-1] and _fill(svg, "WY") == NONE_SHADE
    assert 'role="img"' in svg and "<title id=\"map-title\">Agencies &lt;by&gt; state" in svg
    assert "61 agencies in 3 states" in svg
    assert "<script" not in svg
    linked = state_tile_map({"TX": 1}, title="t", link="?status=x&state=")
    assert 'href="?status=x&amp;state=TX"' in linked


def test_months_without_signings_are_zero_bars() -> None:
    series = month_series([date(2025, 11, 3), date(2026, 2, 1), date(2026, 2, 27)])
    assert series == [("2025-11", 1), ("2025-12", 0), ("2026-01", 0), ("2026-02", 2)]
    svg = monthly_bars(series, title="Signed per month")
    heights = [int(h) for h in re.findall(r'class="bar" x="[^"]+" y="[^"]+" width="[^"]+" '
                                          r'height="(\d+)"', svg)]
    assert heights[1] == heights[2] == 0 and heights[3] == 2 * heights[0] > 0
    assert ">2026<" in svg and "3 agreements signed, 2025-11 to 2026-02" in svg
    assert "No agreements" in monthly_bars([], title="t")


def _matter(private: bool, tags: list[str] | None = None, agency: str = "USCIS") -> Matter:
    return Matter(id="m", kind="foia", agency=agency, private=private, tags=tags or [],
                  created_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_who_sees_a_private_matter() -> None:
    sub = SubscriptionConfig(name="a", urls=["console://"], include_private=True)
    assert PUBLIC.sees_matter(_matter(False)) and not PUBLIC.sees_matter(_matter(True))
    assert Viewer(sub).sees_matter(_matter(True))
    assert not Viewer(sub.model_copy(update={"include_private": False})).sees_matter(
        _matter(True))
    tagged = Viewer(sub.model_copy(update={"tags": ["287g"]}))
    assert tagged.sees_matter(_matter(True, ["287g"]))
    assert not tagged.sees_matter(_matter(True, ["other"]))
    by_agency = Viewer(sub.model_copy(update={"agencies": ["houston"]}))
    assert by_agency.sees_matter(_matter(True, agency="USCIS Houston Field Office"))
    assert not by_agency.sees_matter(_matter(True, agency="ICE"))


def test_a_token_names_its_subscription_only() -> None:
    subs = [SubscriptionConfig(name="a", urls=["console://"], token="a" * 20),
            SubscriptionConfig(name="b", urls=["console://"], token="b" * 20),
            SubscriptionConfig(name="c", urls=["console://"])]
    found = viewer_for_token(subs, "b" * 20)
    assert found is not None and found.name == "b"
    assert viewer_for_token(subs, "") is None and viewer_for_token(subs, "a" * 19) is None


def _config(tmp_path: Path, keys: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[[subscription]]\nname = "s"\nurls = ["console://"]\n{keys}\n')
    return path


def test_the_site_token_is_a_secret_from_env_or_file(tmp_path: Path) -> None:
    secret = "site-token-0123456789abcdef"
    cfg = load_config(str(_config(tmp_path, 'token_env = "SITE_TOKEN"')),
                      environ={"SITE_TOKEN": secret})
    assert cfg.subscriptions[0].token == secret
    assert secret not in repr(cfg.subscriptions[0])
    assert secret not in str(cfg.subscriptions[0].model_dump())
    (tmp_path / "token").write_text(secret + "\n")
    path = _config(tmp_path, f'token_file = "{tmp_path / "token"}"')
    assert load_config(str(path), environ={}).subscriptions[0].token == secret
    with pytest.raises(ConfigError, match=r"subscription\[0\]\.token_env"):
        load_config(str(_config(tmp_path, 'token_env = "NO_SUCH_VAR"')), environ={})
    with pytest.raises(ConfigError, match="16 characters") as short:
        load_config(str(_config(tmp_path, 'token_env = "SITE_TOKEN"')),
                    environ={"SITE_TOKEN": "short"})
    assert "short" not in str(short.value).replace("16 characters", "")
    assert MatterConfig(id="x", kind="foia").private is False
