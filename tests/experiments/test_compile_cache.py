"""Where compiled programs are cached: the user's cache directory, or off."""

from pathlib import Path

import pytest

from analysis.runtime import compile_cache


def test_default_is_under_the_user_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.cache_dir() == tmp_path / "actgrad" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert compile_cache.cache_dir() == tmp_path / "home" / ".cache" / "actgrad" / "jax"


@pytest.mark.parametrize("value", ["off", "0", "", "No"])
def test_it_can_be_turned_off(monkeypatch, value):
    monkeypatch.setenv(compile_cache.ENV, value)
    assert compile_cache.cache_dir() is None
    assert compile_cache.enable() is None


def test_an_explicit_directory_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "c"))
    assert compile_cache.cache_dir() == Path(tmp_path / "c")


def test_an_uncreatable_directory_disables_it_quietly(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(compile_cache.ENV, str(blocker / "sub"))
    assert compile_cache.enable() is None
