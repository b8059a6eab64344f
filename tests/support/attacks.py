"""Forged, broken and look-alike tokens for the hardening suites, plus raw-HTTP helpers.

moto signs every Cognito token with one RSA key that ships inside the moto package
(moto/cognitoidp/resources/jwks-private.json[.gz], kid "dummy"). Loading it lets a test sign
ANY claims the local stack accepts, so an attack token can be valid in every respect but the
one under test (that is also why no deployed stage may trust a local JWKS URL).
"""
import base64
import gzip
import hashlib
import hmac
import json
import socket
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

MOTO_KID = "dummy"
ERROR_KEYS = {"Code", "Message", "Fields"}


# -- keys -----------------------------------------------------------------------------------

def _moto_resource(name: str) -> Dict[str, Any]:
    import moto.cognitoidp  # only needed here, and only in tests

    folder = Path(moto.cognitoidp.__file__).parent / "resources"
    plain, packed = folder / name, folder / (name + ".gz")
    if plain.exists():
        return json.loads(plain.read_text())
    return json.loads(gzip.decompress(packed.read_bytes()))


@lru_cache(maxsize=1)
def moto_private_key() -> Any:
    """The private key moto signs every Cognito token with."""
    return RSAAlgorithm.from_jwk(json.dumps(_moto_resource("jwks-private.json")))


@lru_cache(maxsize=1)
def moto_public_pem() -> bytes:
    return moto_private_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@lru_cache(maxsize=1)
def stranger_key() -> Any:
    """A different RSA key (an attacker's)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- token building -------------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64json(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def unverified_claims(token: str) -> Dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: Mapping[str, Any], key: Any = None, kid: Optional[str] = MOTO_KID,
         algorithm: str = "RS256", extra_headers: Optional[Mapping[str, Any]] = None) -> str:
    """RS256 (by default with moto's key): a token the local stack accepts unless the claims say otherwise."""
    headers: Dict[str, Any] = dict(extra_headers or {})
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(dict(claims), key if key is not None else moto_private_key(), algorithm=algorithm,
                      headers=headers)


def unsigned(claims: Mapping[str, Any], alg: str = "none", kid: Optional[str] = MOTO_KID) -> str:
    header: Dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return f"{b64json(header)}.{b64json(dict(claims))}."


def hs256_with_public_key(claims: Mapping[str, Any]) -> str:
    """The classic key-confusion forgery: HMAC-SHA256 keyed with the RSA public key (PEM)."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': MOTO_KID})}.{b64json(dict(claims))}"
    mac = hmac.new(moto_public_pem(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def tampered(token: str, **changes: Any) -> str:
    """`token` with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = unverified_claims(token)
    claims.update(changes)
    return f"{header}.{b64json(claims)}.{signature}"


def id_claims(template: Mapping[str, Any], **changes: Any) -> Dict[str, Any]:
    """Fresh, valid ID-token claims shaped like `template` (a real token's), with `changes`;
    a change to None removes the claim."""
    now = int(time.time())
    claims = dict(template)
    claims.update(iat=now, auth_time=now, exp=now + 3600)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def forged_tokens(real_id: Mapping[str, Any], access_token: str, foreign_pool_token: str,
                  real_token: str) -> Dict[str, str]:
    """Every token attack of the table, keyed by a short name. Each is invalid in exactly one way
    (the valid baseline is `sign(id_claims(real_id))`)."""
    now = int(time.time())
    valid = id_claims(real_id)
    return {
        "alg_none": unsigned(valid),
        "alg_None_capital": unsigned(valid, alg="None"),
        "alg_none_with_real_signature": unsigned(valid) + real_token.split(".")[2],
        "hs256_public_key_secret": hs256_with_public_key(valid),
        "other_rsa_key_real_kid": sign(valid, key=stranger_key()),
        "other_rsa_key_unknown_kid": sign(valid, key=stranger_key(), kid="attacker-kid"),
        "no_kid": sign(valid, kid=None),
        "kid_path_traversal": sign(valid, key=stranger_key(), kid="../../../../dev/null"),
        "jku_to_attacker_jwks": sign(valid, key=stranger_key(),
                                     extra_headers={"jku": "http://127.0.0.1:1/jwks.json"}),
        "rs512_moto_key": sign(valid, algorithm="RS512"),
        "ps256_moto_key": sign(valid, algorithm="PS256"),
        "expired": sign(id_claims(real_id, iat=now - 7200, auth_time=now - 7200, exp=now - 3600)),
        "expired_just_past_leeway": sign(id_claims(real_id, exp=now - 60)),
        "nbf_in_future": sign(id_claims(real_id, nbf=now + 3600)),
        "iat_in_future": sign(id_claims(real_id, iat=now + 3600, auth_time=now + 3600, exp=now + 7200)),
        "no_exp": sign(id_claims(real_id, exp=None)),
        "exp_as_string_in_past": sign(id_claims(real_id, exp=str(now - 3600))),
        "exp_not_a_number": sign(id_claims(real_id, exp="tomorrow")),
        "wrong_iss": sign(id_claims(real_id, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_evil")),
        "iss_trailing_slash_lookalike": sign(id_claims(real_id, iss=real_id["iss"] + "x")),
        "no_iss": sign(id_claims(real_id, iss=None)),
        "wrong_aud": sign(id_claims(real_id, aud="some-other-client")),
        "aud_list_with_client": sign(id_claims(real_id, aud=[real_id["aud"], "other"])),
        "no_aud": sign(id_claims(real_id, aud=None)),
        "second_user_pool": foreign_pool_token,
        "access_token": access_token,
        "forged_access_token_claims": sign(id_claims(real_id, token_use="access", aud=None,
                                                     client_id=real_id["aud"])),
        "no_token_use": sign(id_claims(real_id, token_use=None)),
        "tampered_sub": tampered(real_token, sub="00000000-0000-4000-8000-000000000000"),
        "tampered_groups": tampered(real_token, **{"cognito:groups": ["apiAdmins", "users"]}),
        "tampered_exp": tampered(real_token, exp=now + 10 ** 6),
        "truncated_signature": real_token[:-10],
        "empty_signature": real_token.rsplit(".", 1)[0] + ".",
        "missing_sub": sign(id_claims(real_id, sub=None)),
        "empty_sub": sign(id_claims(real_id, sub="")),
        "sub_as_number": sign(id_claims(real_id, sub=12345)),
        "two_segments": ".".join(real_token.split(".")[:2]),
        "four_segments": real_token + ".AAAA",
        "header_not_json": "bm90anNvbg." + real_token.split(".", 1)[1],
        "header_is_list": b64json(["RS256"]) + "." + real_token.split(".", 1)[1],
        "basic_auth": "Basic " + b64(b"admin:admin"),
        "bearer_only": "Bearer",
        "bearer_spaces": "Bearer     ",
        "garbage_ascii": "x" * 40 + "." + "y" * 40 + "." + "z" * 40,
        "token_over_8k": "Bearer " + sign(id_claims(real_id, pad="p" * 9000)),
    }


# Group claims that only look like the admin group (the token is otherwise VALID).
def group_lookalikes(admin_group: str) -> Dict[str, Any]:
    return {
        "prefixed": [f"not{admin_group}"],
        "trailing_space": [f"{admin_group} "],
        "leading_space": [f" {admin_group}"],
        "upper_case": [admin_group.upper()],
        "lower_case": [admin_group.lower()],
        "comma_string_in_list": [f"users,{admin_group}"],
        "comma_space_in_list": [f"{admin_group}, users"],
        "bracketed_in_list": [f"[{admin_group}]"],
        "zero_width_space": [f"{admin_group}\u200b"],
        "cyrillic_a": [admin_group.replace("a", "\u0430", 1)],
        "nul_suffix": [f"{admin_group}\u0000"],
        "nested_list": [[admin_group]],
        "object": {admin_group: True},
        "object_in_list": [{"name": admin_group}],
        "bool_true": True,
        "string_prefixed": f"not{admin_group}",
        "string_trailing_space": f"{admin_group} ",
        "string_semicolon": f"users;{admin_group}",
        "wrong_claim_name": None,  # groups under "groups" / "cognito:groups " instead
    }


# -- raw HTTP -------------------------------------------------------------------------------

def raw_request(base_url: str, method: str, path: Any, headers: List[Tuple[bytes, bytes]],
                body: bytes = b"", timeout: float = 10.0) -> Tuple[int, Dict[str, str], bytes]:
    """Send exactly these bytes (header values need not be ASCII or valid UTF-8); return
    (status, headers, body). Raises ConnectionError if the server drops the connection
    without an HTTP answer."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    prefix = parts.path.rstrip("/")
    target = path if isinstance(path, bytes) else path.encode("ascii")
    lines = [method.encode("ascii") + b" " + prefix.encode("ascii") + target + b" HTTP/1.1",
             f"Host: {host}:{port}".encode("ascii")]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Content-Length: " + str(len(body)).encode("ascii"), b"Connection: close"]
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise ConnectionError("connection closed without a response")
    head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    status = int(status_line.split()[1])
    response_headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        response_headers[name.strip().lower()] = value.strip()
    return status, response_headers, payload


def error_shape_problem(status: int, content_type: str, body: bytes) -> Optional[str]:
    """None if the answer is the services' JSON error shape; otherwise why not."""
    if not (content_type or "").lower().startswith("application/json"):
        return f"content-type {content_type!r}"
    try:
        parsed = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:120]!r}"
    if not isinstance(parsed, dict) or not {"Code", "Message"} <= set(parsed) or not set(parsed) <= ERROR_KEYS:
        return f"body is not the error shape: {body[:200]!r}"
    if not isinstance(parsed["Code"], str) or not isinstance(parsed["Message"], str):
        return f"Code/Message are not strings: {body[:200]!r}"
    return None
