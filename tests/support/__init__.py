"""Test helpers, one small module per concern; test folders hold only test modules and conftest.py.

apps            load users_app / orders_app in one process (`load_app`, `use_app`, `app_module`)
tokens          RS256 test tokens, their JWKS, a verifier over a fake fetch
attacks         forged and look-alike tokens (signed with moto's key), raw HTTP
http            `call` either API (test client or HTTP), `assert_error`, `Answer`s for table-driven suites
clock           `FakeClock` (aware datetimes), `FakeMonotonic` (float seconds)
metrics         `MetricsRecorder`, a metrics sink that records
lambda_context  `FakeLambdaContext`
orders          `order_body`, `caller`
idempotency     `failable_store`, `idempotency_key`
storage         what the orders table holds (`stored_items`, `stored_orders`); the contracts' repositories
                (`BACKENDS`, `contract_repository`)
concurrent      `Call` (a timed request), `fire`, `frozen`
stack           `StackHandle`, `User`, `start_local_stack`, `start_special_stack`, `free_port_env`
serving         `serving` (a one-file Chalice app behind the local API server), `worker_pids`
narrow_app      a Chalice app whose authorizer allows only the route it was invoked for (the authorizer cache)
fixtures        the shared fixtures (`stack`, `local_stack_only`): a plugin, registered in tests/conftest.py
packaging       `Package`, `sam_transform`, `cfn_lint` for the deploy tests
emf_runner, metric_catalog, metric_check   the metrics checks of tests/deploy/test_metrics.py
emulated_account   `aws cloudformation deploy` against moto (run by test_emulated_account.py's `aws` wrapper)
browser         `chromium`, `missing`, `docs_flow`: the API docs in headless Chromium (runs docs_flow.mjs,
                playwright-core driving the system's Chromium through the orders docs page)
"""
