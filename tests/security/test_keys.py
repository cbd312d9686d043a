from gateway_api.security.crypto import CredentialCipher, last4
from gateway_api.security.keys import KEY_PREFIX, digest_key, digests_match, key_pepper, new_api_key
from gateway_api.security.passwords import hash_password, verify_password

PEPPER = key_pepper("a-secret-key-for-tests-only")


def test_new_keys_are_random_prefixed_and_digested() -> None:
    keys = {new_api_key(PEPPER).secret for _ in range(100)}
    assert len(keys) == 100
    key = new_api_key(PEPPER)
    assert key.secret.startswith(KEY_PREFIX)
    assert len(key.secret) - len(KEY_PREFIX) >= 43  # 32 random bytes, urlsafe base64
    assert key.secret.startswith(key.prefix) and len(key.prefix) < len(key.secret)
    assert key.secret not in key.digest
    assert digests_match(key.digest, digest_key(key.secret, PEPPER))


def test_the_digest_depends_on_the_secret_key() -> None:
    key = new_api_key(PEPPER)
    assert digest_key(key.secret, key_pepper("another-secret-key-entirely")) != key.digest


def test_passwords_use_argon2() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2")
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong horse", hashed)
    assert not verify_password("anything", None)
    assert not verify_password("anything", "not-a-hash")


def test_credentials_round_trip_and_fail_under_another_key() -> None:
    token = CredentialCipher("key-one-0123456789").encrypt("sk-ant-secret-value")
    assert "sk-ant" not in token
    assert CredentialCipher("key-one-0123456789").decrypt(token) == "sk-ant-secret-value"
    try:
        CredentialCipher("key-two-0123456789").decrypt(token)
    except ValueError as exc:
        assert "GATEWAY_SECRET_KEY" in str(exc)
    else:
        raise AssertionError("decrypting with another key must fail")
    assert last4("sk-ant-secret-value") == "alue"
    assert last4("short") == ""
