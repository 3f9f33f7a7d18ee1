"""``providers.toml``: defaults, errors naming the key, the environment allowlist, providers that fail to load."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainboard.server.providers.registry import (
    DEFAULT_ENV_ALLOWLIST,
    ConfigError,
    LaunchConfig,
    build_registry,
    env_allowed,
    load_config,
)


def test_without_a_file_only_local_is_configured(tmp_path: Path) -> None:
    conf = load_config(tmp_path / "providers.toml")
    assert conf.providers == {"local": {}}
    assert conf.cancel_grace == 10.0 and conf.public_url is None


def test_a_file_configures_providers_grace_public_url_and_allowlist(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(
        'public_url = "https://tb.example.org/"\ncancel_grace = 3\nenv_allowlist = ["DATA_*"]\n'
        "[providers.local]\nenabled = false\n[providers.slurm]\npartition = 'debug'\n"
    )
    conf = load_config(path)
    assert conf.providers == {"slurm": {"partition": "debug"}}
    assert conf.public_url == "https://tb.example.org"
    assert conf.cancel_grace == 3.0
    assert env_allowed("DATA_DIR", conf.env_allowlist)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("public_url = 'ftp://x'", "public_url"),
        ("cancel_grace = -1", "cancel_grace"),
        ("cancel_grace = true", "cancel_grace"),
        ("env_allowlist = 'X'", "env_allowlist"),
        ("[providers.kubernetes]", "kubernetes"),
        ("providers = 3", "[providers]"),
        ("[providers\n", "providers.toml"),
    ],
)
def test_a_malformed_file_is_an_error_naming_the_key(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "providers.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"providers\.toml") as caught:
        load_config(path)
    assert names in str(caught.value)


def test_the_allowlist_never_lets_loader_or_trainboard_variables_through() -> None:
    assert env_allowed("CUDA_VISIBLE_DEVICES", DEFAULT_ENV_ALLOWLIST)
    assert env_allowed("HF_HOME", DEFAULT_ENV_ALLOWLIST)
    for name in (
        "LD_PRELOAD",
        "PATH",
        "PYTHONPATH",
        "TRAINBOARD_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "cuda_visible_devices",
    ):
        assert not env_allowed(name, DEFAULT_ENV_ALLOWLIST), name
    assert not env_allowed("LD_PRELOAD", ("*",))  # not even with a catch-all pattern
    assert env_allowed("WANDB_API_KEY", ("*",))


def test_a_provider_that_fails_to_load_is_reported_not_fatal(tmp_path: Path) -> None:
    conf = LaunchConfig(providers={"local": {}, "ray": {}})
    registry = build_registry(
        data_dir=tmp_path,
        launch_root=tmp_path,
        local_url="http://127.0.0.1:1",
        config=conf,
        factories={"local": "trainboard.server.providers.local", "ray": "trainboard.no_such_module"},
    )
    assert list(registry.providers) == ["local"]
    assert "No module named" in registry.errors["ray"]
    assert registry.names() == ["local", "ray"]
    assert registry.contexts["local"].server_url == "http://127.0.0.1:1"


def test_remote_providers_get_the_public_url_and_local_the_bound_one(tmp_path: Path) -> None:
    conf = LaunchConfig(public_url="https://tb.example.org", providers={"local": {"cancel_grace": 2}})
    registry = build_registry(data_dir=tmp_path, launch_root=None, local_url="http://127.0.0.1:9", config=conf)
    assert registry.contexts["local"].server_url == "http://127.0.0.1:9"
    assert registry.contexts["local"].cancel_grace == 2.0
    assert registry.contexts["local"].state_dir == tmp_path / "launch" / "local"
