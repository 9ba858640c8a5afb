"""The price table (SPARK_PRICES) applied to tokens."""

from __future__ import annotations

import pytest

from spark.config import Settings
from spark.llm.prices import cost_of, priced


def test_tokens_are_priced_per_million_in_and_out_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARK_PRICES", '{"gpt-4o": {"in": 2.5, "out": 10}}')
    prices = Settings().prices
    assert cost_of(prices, "gpt-4o", 1_000_000, 500_000) == pytest.approx(7.5)
    assert cost_of(prices, "gpt-4o", 120, 80) == pytest.approx((120 * 2.5 + 80 * 10) / 1e6)
    assert priced(prices, "gpt-4o")


def test_a_model_the_table_does_not_name_costs_nothing_and_says_so() -> None:
    assert cost_of({}, "offline", 500, 500) == 0.0
    assert not priced({}, "offline") and not priced({}, None)


def test_a_negative_or_unknown_price_field_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SPARK_PRICES", '{"m": {"in": -1, "out": 1}}')
    with pytest.raises(ValueError, match="prices"):
        Settings()
    monkeypatch.setenv("SPARK_PRICES", '{"m": {"input": 1, "out": 1}}')
    with pytest.raises(ValueError, match="prices"):
        Settings()
