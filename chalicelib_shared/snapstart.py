"""SnapStart (prod functions on python3.12+): what a snapshot of the initialised function must not carry
into the execution environments restored from it, and the hook that handles it.

Lambda initialises a function version once, snapshots it, and restores that snapshot in every new
execution environment, so whatever init computed is shared by all of them. In these apps:
- `random`'s generator is seeded at import: it would repeat the same sequence in every restored
  environment (botocore's retry jitter) unless reseeded, so the after-restore hook reseeds it from
  os.urandom. The ids that matter (userids, idempotency keys, trace and span ids) come from uuid4 or
  os.urandom, read on every call.
- The DynamoDB client is built at init but opens no connection until the first request (init makes no
  AWS call), so no socket is carried over; under SnapStart Lambda hands out credentials through its
  container credentials endpoint, which botocore refreshes, not through values frozen at init.
- The signing-key client fetches nothing at init (it is not even built), so no key is snapshotted; its
  fetch times are readings of the monotonic clock of the machine that took them, so a restore forgets
  them (`CognitoVerifier.restored`, `jwks.JwksClient.restored`): the first use refetches, and keys
  already held serve only as the fallback during a JWKS outage.
- The trace exporter opens its UDP socket on its first send, after the restore (tracing.py).
- The cold-start flag is still set when the snapshot is taken, so each restored environment's first
  request logs cold_start and counts ColdStart, which is what a restore is.

`after_restore(hook)` registers with the runtime's `snapshot_restore_py` (the python3.12+ runtimes);
anywhere else (python3.11, the local stack, tests) it does nothing.
"""
import random
from typing import Callable


def after_restore(hook: Callable[[], None]) -> bool:
    """Run `hook` after every restore from a snapshot; False where there are no snapshots."""
    try:
        from snapshot_restore_py import register_after_restore  # provided by the Lambda runtime (3.12+)
    except ImportError:
        return False
    register_after_restore(hook)
    return True


def reseed_random() -> None:
    random.seed()  # from os.urandom: each restored environment its own sequence
