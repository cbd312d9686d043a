from gateway_api.usage.estimates import BYTES_PER_TOKEN, tokens_for_bytes, tokens_for_text


def test_nothing_costs_nothing_and_any_byte_costs_a_token() -> None:
    assert tokens_for_bytes(0) == 0
    assert tokens_for_bytes(-5) == 0
    assert tokens_for_bytes(1) == 1
    assert tokens_for_bytes(BYTES_PER_TOKEN) == 1
    assert tokens_for_bytes(BYTES_PER_TOKEN + 1) == 2


def test_text_is_estimated_above_the_usual_four_bytes_per_token() -> None:
    english = "The quick brown fox jumps over the lazy dog. " * 20
    assert tokens_for_text(english) > len(english.encode()) / 4
    assert tokens_for_text("日本語") == 3  # nine UTF-8 bytes
