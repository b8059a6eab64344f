"""One cold start, as Lambda pays it: run by path as `python -I -S -B cold_child.py` (deploy.perf.bench.cold).

Standard library only, and nothing on sys.path but the Lambda-like entries it is given and the
stdlib (-I leaves this file's directory off sys.path). Everything it needs comes through the
environment: BENCH_KIND (baseline | app | authorizer), BENCH_SYS_PATH, BENCH_EVENT or
BENCH_GET_ITEM, and BENCH_RESULT, the file it writes its timings to. A script is compiled from
source on every run, exactly like the `-c` string this used to be; `python -v` prints no import
line for it, so the compile counter does not see it.
"""
import sys  # first, so t_start is taken before anything else is imported
import time

t_start = time.perf_counter()
import json  # noqa: E402 - after t_start: the imports are part of what is timed
import os  # noqa: E402

sys.path[0:0] = json.loads(os.environ["BENCH_SYS_PATH"])
if os.environ["BENCH_KIND"] == "baseline":
    import boto3
    client = boto3.client("dynamodb")
    t_init = time.perf_counter()
    response = client.get_item(**json.loads(os.environ["BENCH_GET_ITEM"]))
    t_response = time.perf_counter()
    ok, status = "Item" in response, 200
else:
    import app as handler_module
    t_init = time.perf_counter()

    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
        memory_limit_in_mb = 512
        aws_request_id = "bench-cold-request"
        log_group_name = "/aws/lambda/" + function_name
        log_stream_name = "bench"

        def get_remaining_time_in_millis(self):
            return 9000
    if os.environ["BENCH_KIND"] == "authorizer":
        response = handler_module.users_authorizer(json.loads(os.environ["BENCH_EVENT"]), Context())
        t_response = time.perf_counter()
        ok = response["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        status = 200 if ok else 403
    else:
        response = handler_module.app(json.loads(os.environ["BENCH_EVENT"]), Context())
        t_response = time.perf_counter()
        status = response.get("statusCode")
        ok = status == 200
mods = sys.modules
with open(os.environ["BENCH_RESULT"], "w") as out:
    json.dump({"t_start": t_start, "t_init": t_init, "t_response": t_response, "ok": ok, "status": status,
               "sys_path": sys.path, "modules": len(mods),
               "heavy": [name for name in ("boto3", "chalicelib.shared.otlp_udp") if name in mods],
               "botocore": getattr(mods.get("botocore"), "__file__", None)}, out)
