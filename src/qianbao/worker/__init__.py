"""Background work: the outbox relay and a PostgreSQL-backed job queue.

Public surface: ``registry`` (declare tasks and subscriptions), ``enqueue`` (defer a job in the
caller's transaction) and ``Worker`` (run them).
"""

from qianbao.worker.queue import enqueue
from qianbao.worker.registry import JobContext, TaskRegistry, registry
from qianbao.worker.runner import Worker

__all__ = ["JobContext", "TaskRegistry", "Worker", "enqueue", "registry"]
