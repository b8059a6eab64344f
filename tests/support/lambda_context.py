"""A stand-in for Lambda's context object: the attributes the apps and Powertools read."""
import os
import uuid

from deploy.project import REGION

ACCOUNT = "123456789012"


class FakeLambdaContext:
    """`get_remaining_time_in_millis()` answers `remaining_ms` (idempotency sizes its in-progress
    window from it); the other attributes are what Logger and Metrics read."""

    def __init__(self, function_name: str = "test-function", remaining_ms: int = 5000,
                 function_version: str = "$LATEST", memory_limit_in_mb: int = 128,
                 log_group_name: str = "") -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = log_group_name or f"/aws/lambda/{function_name}"
        self.log_stream_name = "2024/01/01/[$LATEST]tests"
        self.remaining_ms = remaining_ms

    @classmethod
    def from_environment(cls, remaining_ms: int) -> "FakeLambdaContext":
        """The context of the function whose Lambda variables (AWS_LAMBDA_*) are in os.environ."""
        return cls(function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"], remaining_ms=remaining_ms,
                   function_version=os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
                   memory_limit_in_mb=int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]),
                   log_group_name=os.environ["AWS_LAMBDA_LOG_GROUP_NAME"])

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
