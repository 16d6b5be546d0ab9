"""Settings from the environment and TOML, validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cores import hashing_threads, worker_count
from app.sensitive import MASK, redacted
from app.settings import DEV_PEPPER, ConfigError, load_settings

SECRET = "s" * 40


def test_defaults_are_the_spec_defaults() -> None:
    settings = load_settings({})
    assert (settings.env, settings.host, settings.port) == ("dev", "127.0.0.1", 8000)
    policy = settings.policy_for("default")
    assert (policy.code_length, policy.code_ttl, policy.max_attempts) == (6, 300, 5)
    assert (policy.resend_cooldown, policy.max_sends, policy.resend_policy) == (60, 5, "replace")
    assert (
        settings.argon2.time_cost,
        settings.argon2.memory_cost,
        settings.argon2.parallelism,
    ) == (
        2,
        19456,
        1,
    )


def test_environment_values_are_converted() -> None:
    settings = load_settings(
        {
            "OTPGATE_PORT": "9000",
            "OTPGATE_CODE_TTL": "120",
            "OTPGATE_ARGON2_TIME_COST": "3",
            "OTPGATE_RESEND_POLICY": "keep",
            "OTHER": "ignored",
        }
    )
    assert settings.port == 9000 and settings.code_ttl == 120
    assert settings.argon2.time_cost == 3 and settings.argon2.memory_cost == 19456
    assert settings.policy_for("x").resend_policy == "keep"


def test_toml_file_with_app_overrides_and_env_winning(tmp_path: Path) -> None:
    config = tmp_path / "otpgate.toml"
    config.write_text(
        "code_ttl = 600\nport = 7000\n[argon2]\nmemory_cost = 65536\n"
        '[apps.shop]\nresend_policy = "keep"\nmax_attempts = 3\n'
        '[messages]\nen = "Code {code}, {minutes} min"\n'
    )
    settings = load_settings({"OTPGATE_CONFIG": str(config), "OTPGATE_PORT": "7100"})
    assert settings.port == 7100 and settings.code_ttl == 600
    assert settings.argon2.memory_cost == 65536
    shop = settings.policy_for("shop")
    assert (shop.resend_policy, shop.max_attempts, shop.code_ttl) == ("keep", 3, 600)
    assert settings.policy_for("default").max_attempts == 5
    assert settings.messages["en"] == "Code {code}, {minutes} min"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"OTPGATE_PORT": "eighty"}, "port"),
        ({"OTPGATE_CODE_LENGTH": "3"}, "code_length"),
        ({"OTPGATE_CODE_LENGTH": "11"}, "code_length"),
        ({"OTPGATE_RESEND_POLICY": "sometimes"}, "resend_policy"),
        ({"OTPGATE_ENV": "staging"}, "env"),
        ({"OTPGATE_CONFIG": "/nonexistent/otpgate.toml"}, "OTPGATE_CONFIG"),
        ({"OTPGATE_TRACING_ENDPOINT": "collector:4318"}, "tracing.endpoint"),
        ({"OTPGATE_TRACING_SAMPLE_RATIO": "1.5"}, "tracing.sample_ratio"),
    ],
)
def test_invalid_values_are_clear_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_unknown_toml_field_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[apps.shop]\nresend_polcy = 'keep'\n")
    with pytest.raises(ConfigError, match="resend_polcy"):
        load_settings({"OTPGATE_CONFIG": str(config)})


def test_message_text_must_contain_the_code(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[messages]\nen = "no code here"\n')
    with pytest.raises(ConfigError, match="code"):
        load_settings({"OTPGATE_CONFIG": str(config)})


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("2/fortnight", "limits.send_per_app: cannot read rate '2/fortnight'"),
        ("0/minute", "limits.send_per_app: '0/minute' allows no event"),
    ],
)
def test_a_rate_that_cannot_count_stops_the_start(tmp_path: Path, rate: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'[limits]\nsend_per_app = ["{rate}"]\n')
    with pytest.raises(ConfigError, match=message):
        load_settings({"OTPGATE_CONFIG": str(config)})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "PEPPER"),
        ({"OTPGATE_PEPPER": DEV_PEPPER}, "PEPPER"),
        ({"OTPGATE_PEPPER": "short"}, "32 characters"),
        ({"OTPGATE_PEPPER": SECRET}, "outbox"),
        ({"OTPGATE_PEPPER": SECRET, "OTPGATE_BOOTSTRAP_API_KEY": "letmein"}, "BOOTSTRAP"),
    ],
)
def test_prod_refuses_default_secrets_and_the_outbox(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"OTPGATE_ENV": "prod", **environ})


def test_provider_secrets_can_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "otpgate.toml"
    config.write_text(
        '[providers.twilio]\naccount_sid = "AC123"\nauth_token = "${TWILIO_TOKEN}"\n'
        'from = "+15005550006"\n[routes]\ndefault = ["twilio"]\n'
    )
    settings = load_settings({"OTPGATE_CONFIG": str(config), "TWILIO_TOKEN": "t0k3n"})
    assert settings.providers["twilio"].auth_token == "t0k3n"
    with pytest.raises(ConfigError, match="TWILIO_TOKEN is not set"):
        load_settings({"OTPGATE_CONFIG": str(config)})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[routes]\ndefault = ["nowhere"]\n', "no provider named 'nowhere'"),
        ('[routes]\n"86" = ["outbox"]\ndefault = ["outbox"]\n', "calling code"),
        ("[routes]\ndefault = []\n", "default"),
        ('[providers.sms]\ntype = "carrier-pigeon"\n', "unknown type"),
        (
            '[providers.aliyun]\naccess_key_id = "a"\naccess_key_secret = "b"\n'
            'sign_name = "s"\ntemplates.fr = { id = "SMS_1" }\n',
            "no template for locale",
        ),
    ],
)
def test_provider_configuration_errors_stop_the_start(
    tmp_path: Path, config: str, message: str
) -> None:
    path = tmp_path / "otpgate.toml"
    path.write_text(config)
    with pytest.raises(ConfigError, match=message):
        load_settings({"OTPGATE_CONFIG": str(path)})


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "OTPGATE_CODE_TLL",
            "OTPGATE_CODE_TLL is not an otpgate setting; did you mean OTPGATE_CODE_TTL?",
        ),
        ("OTPGATE_REDIS_ULR", "did you mean OTPGATE_REDIS_URL?"),
        ("OTPGATE_ARGON2_TIMECOST", "did you mean OTPGATE_ARGON2_TIME_COST?"),
        ("OTPGATE_LIMITS", "`limits` is set in the TOML file (OTPGATE_CONFIG)"),
        ("OTPGATE_TRACING_HEADERS", "`tracing.headers` is set in the TOML file"),
        ("OTPGATE_TRACING_ENDPONT", "did you mean OTPGATE_TRACING_ENDPOINT?"),
        ("OTPGATE_WHATEVER", "OTPGATE_WHATEVER is not an otpgate setting"),
    ],
)
def test_an_unknown_otpgate_variable_stops_the_start_naming_the_closest(
    variable: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: "1"})
    assert message in str(raised.value)


def test_tracing_is_off_unless_an_endpoint_is_set(tmp_path: Path) -> None:
    assert not load_settings({}).tracing.enabled
    assert not load_settings({"OTPGATE_TRACING_ENDPOINT": ""}).tracing.enabled
    config = tmp_path / "otpgate.toml"
    config.write_text(
        '[tracing]\nendpoint = "http://collector:4318/v1/traces"\nservice_name = "otp-eu"\n'
        'headers = { "x-honeycomb-team" = "${HONEYCOMB_KEY}" }\n'
    )
    environ = {"OTPGATE_CONFIG": str(config), "OTPGATE_TRACING_SAMPLE_RATIO": "0.25"}
    settings = load_settings({**environ, "HONEYCOMB_KEY": "hc-key"})
    tracing = settings.tracing
    assert tracing.enabled and tracing.endpoint == "http://collector:4318/v1/traces"
    assert (tracing.service_name, tracing.sample_ratio) == ("otp-eu", 0.25)  # file and env
    assert tracing.headers == {"x-honeycomb-team": "hc-key"}
    assert redacted(settings)["tracing"]["headers"] == {"x-honeycomb-team": MASK}


def test_the_config_path_and_the_test_suites_redis_are_not_settings_but_allowed(
    tmp_path: Path,
) -> None:
    config = tmp_path / "otpgate.toml"
    config.write_text("code_ttl = 120\n")
    settings = load_settings(
        {"OTPGATE_CONFIG": str(config), "OTPGATE_TEST_REDIS_URL": "redis://x", "OTHER": "1"}
    )
    assert settings.code_ttl == 120


@pytest.mark.parametrize(
    ("environ", "cores", "workers", "threads"),
    [
        ({}, {0, 1}, 2, 1),  # a worker per core, each hashing on its share
        ({}, {0, 1, 2, 3}, 4, 1),
        ({"OTPGATE_WORKERS": "1"}, {0, 1, 2, 3}, 1, 4),
        ({"OTPGATE_WORKERS": "3"}, {0, 1}, 3, 1),  # never fewer than one thread
        ({"OTPGATE_WORKERS": "2", "OTPGATE_HASH_THREADS": "5"}, {0, 1}, 2, 5),
    ],
)
def test_workers_and_hashing_threads_follow_the_cores_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    cores: set[int],
    workers: int,
    threads: int,
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: cores)
    settings = load_settings(environ)
    assert worker_count(settings.workers) == workers
    assert hashing_threads(settings.hash_threads, settings.workers) == threads


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://h1:port", "is not host:port"),
        ("redis+sentinel://h1:26379", "needs the service name"),
        ("mysql://h:1", "unsupported Redis URL scheme"),
    ],
)
def test_a_bad_redis_url_is_a_start_up_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"redis_url: .*{message}"):
        load_settings({"OTPGATE_REDIS_URL": url})


def test_wait_timeout_must_be_shorter_than_the_redis_timeout() -> None:
    environ = {"OTPGATE_REDIS_WAIT_REPLICAS": "1", "OTPGATE_REDIS_WAIT_TIMEOUT": "2"}
    with pytest.raises(ConfigError, match="redis_wait_timeout"):
        load_settings(environ)
    assert load_settings({**environ, "OTPGATE_REDIS_TIMEOUT": "3"}).redis_wait_replicas == 1
