"""Cold start and request path benchmark on the real packaged artifacts (README.md, "Performance (`make bench`)").

    python -m deploy.perf.bench [--quick] [--json PATH] [--runs N] [--iterations N] [--rebuild] [--strict]
    make bench                       (same as: python -m deploy.perf.bench --json deploy/build/bench.json)

One run measures, against a DynamoDB Local the bench starts (in memory, bench tables, one user and
one order seeded):
1. Cold start per app, as Lambda pays it: a fresh `python -I -S -B` process (no venv site-packages)
   with a Lambda-like environment (LAMBDA_TASK_ROOT, function name, region, fake credentials,
   PYTHONDONTWRITEBYTECODE=1, X-Ray trace header, the dev stage's env vars), the deployment zip
   unzipped read-only as the task root, the layer unzipped read-only as /opt (chmod, advisory for
   root: the bench checks that no .pyc appeared), and sys.path like Lambda's: task root, layer, a
   "runtime" dir holding only what the Lambda runtime ships (boto3,
   botocore, s3transfer, jmespath, urllib3, dateutil, six; symlinks into the venv), then the stdlib.
   It imports `app` and serves one first request (users GET /users/{id}, orders GET /orders/{id})
   through `app.app(event, context)`. (a) = `chalice package` output, (b) = after deploy/aws/build_step.py,
   (c) = baseline: import boto3, create the DynamoDB client, the same one GetItem; and for users,
   (z) = the authorizer's own function on the (b) artifact (_HANDLER=app.users_authorizer), whose
   first call verifies a token against a loopback JWKS (one fetch); it must import neither boto3
   nor the trace exporter; and (t) = (b) with TRACING=off, so b - t is what tracing costs a cold start.
   Interleaved runs,
   medians. Time = from just before the parent spawns the child to the response (the child reports
   time.perf_counter(), CLOCK_MONOTONIC, comparable across processes on Linux). Plus one `python -v`
   run of (a) and (b): modules compiled from source = "# code object from <path>.py" lines (a .pyc
   load prints the quoted .pyc path instead).
2. Warm request path per route, in a child process set up like (b): p50/p99 per route next to the
   raw boto3 calls the route needs, DynamoDB round trips per call counted by a `before-send.dynamodb`
   hook on boto3's default session (registered before the app builds its client), and clients
   created per request (`creating-client-class` on the same session). X-Ray header Sampled=0 here.
3. Users authorizer warm: `app.users_authorizer(event, context)` with a token signed by a test key,
   JWKS served by a loopback HTTP server (JWKS_URL), next to a bare `jwt.decode` with the same checks;
   JWKS fetches during the timed loop.
4. Artifact sizes, zipped and unzipped, and runtime-provided packages found in them.

Packages come from deploy/build/bench/<arch>/<app>/dev (deploy.aws.package), which keeps a package
built from the same inputs (a sha256 of the app's files, its merge template, the packaging code and
pins, the stage, architecture and runtime; build.json records it) and rebuilds the others (all of
them with --rebuild).
Exit status: 0 when the bench ran (target failures are printed as FAIL), 1 when the bench itself
broke (a failed request, a hook that counted nothing, a wrong package) or, with --strict, when a
target failed.

Modules: __main__ (the command line and the run), packages (reuse or build), sandbox (the
Lambda-like filesystem and environment), dynamo (the bench's DynamoDB Local), fixtures (the
seeded identities and items, events and contexts), cold + cold_child.py (1), warm + warm_child.py
+ routes (2; the route cases are data), authorizer (3), artifacts (4), report (targets, table).
"""
