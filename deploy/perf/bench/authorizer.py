"""3. The users authorizer, warm: `app.users_authorizer(event, context)` with a token signed by a
test key, next to a bare `jwt.decode` with the same checks, and the JWKS fetches while it runs.
JwksServer also serves the keys the (z) cold starts fetch. jwt is imported only when used: in the
warm child it comes from the users layer."""
import json
import time
from typing import Any, Callable, Dict, List

from deploy.perf.bench.fixtures import (
    ADMIN_GROUP,
    ADMIN_SUB,
    CLIENT_ID,
    ISSUER,
    POOL_ID,
    BenchError,
    FakeLambdaContext,
    authorizer_event,
)
from deploy.perf.bench.routes import percentile


class JwksServer:
    """A loopback JWKS endpoint with a fresh RSA key; counts the fetches it serves."""

    def __init__(self) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="bench-key", alg="RS256", use="sig")
        self.body = json.dumps({"keys": [jwk]}).encode()
        self.hits = 0
        now = int(time.time())
        self.token = jwt.encode({"sub": ADMIN_SUB, "aud": CLIENT_ID, "iss": ISSUER, "token_use": "id",
                                 "cognito:groups": [ADMIN_GROUP], "email": "bench@example.com",
                                 "iat": now, "auth_time": now, "exp": now + 3600},
                                self.key, algorithm="RS256", headers={"kid": "bench-key"})
        self.url = ""

    def start(self) -> "JwksServer":
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server_self.body)))
                self.end_headers()
                self.wfile.write(server_self.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/{POOL_ID}/.well-known/jwks.json"
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def bench_authorizer(module: Any, jwks: JwksServer, iterations: int) -> Dict[str, Any]:
    import jwt

    event = authorizer_event(jwks.token)
    context = FakeLambdaContext("users-dev-users_authorizer")
    first = module.users_authorizer(event, context)  # cold: fetches the JWKS once
    if first.get("policyDocument", {}).get("Statement", [{}])[0].get("Effect") != "Allow":
        raise BenchError(f"the authorizer did not allow the bench token: {first}")
    hits_cold = jwks.hits
    public_key = jwt.PyJWK(json.loads(jwks.body)["keys"][0]).key

    def authorizer() -> Any:
        return module.users_authorizer(event, context)

    def bare() -> Any:
        return jwt.decode(jwks.token, public_key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER,
                          options={"require": ["exp", "iss", "aud"]})

    samples = _interleaved({"authorizer": authorizer, "bare": bare}, iterations)
    us = {name: {"p50_us": round(percentile(v, 50) / 1e3, 1), "p99_us": round(percentile(v, 99) / 1e3, 1),
                 "mean_us": round(sum(v) / len(v) / 1e3, 1)} for name, v in samples.items()}
    return {**us, "iterations": iterations, "ratio_p50": round(us["authorizer"]["p50_us"] / us["bare"]["p50_us"], 3),
            "jwks_fetches_cold": hits_cold, "jwks_fetches_warm": jwks.hits - hits_cold,
            "verifier_fetches_total": module.root.parts.verifier.keys.fetches}


def _interleaved(calls: Dict[str, Callable[[], Any]], iterations: int) -> Dict[str, List[int]]:
    """Nanoseconds per call of each, after 20 warm-up rounds; interleaved, so drift hits all alike."""
    for _ in range(20):
        for call in calls.values():
            call()
    samples: Dict[str, List[int]] = {name: [] for name in calls}
    for _ in range(iterations):
        for name, call in calls.items():
            started = time.perf_counter_ns()
            call()
            samples[name].append(time.perf_counter_ns() - started)
    return samples
