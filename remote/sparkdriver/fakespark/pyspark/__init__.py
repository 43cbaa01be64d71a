"""A stand-in for PySpark, for Sluice's fake Databricks and Livy servers (package fakespark).

It runs a driver program's RDD jobs on this machine: parallelize(data, n).map(f).collect() runs n
tasks, one thread each, in the driver process, each applying the mapped functions to its slice of
the data; a task that raises is retried up to FAKESPARK_MAX_FAILURES times (spark.task.maxFailures,
default 1) and then aborts the job with Spark's message. Tasks listed in FAKESPARK_LOSE_TASKS
(comma-separated indices) fail on every try as if their executor were lost. SparkFiles.get finds
the job's shipped files in FAKESPARK_FILES.
"""

import os
from concurrent.futures import ThreadPoolExecutor


class SparkFiles:
    @staticmethod
    def get(name):
        root = os.environ.get("FAKESPARK_FILES", "")
        if not root:
            raise RuntimeError("SparkFiles.get(%r): the job shipped no files" % name)
        return os.path.join(root, name)

    @staticmethod
    def getRootDirectory():
        return os.environ.get("FAKESPARK_FILES", "")


class RDD:
    def __init__(self, data, slices, fns=()):
        self._data, self._slices, self._fns = data, slices, fns

    def map(self, f):
        return RDD(self._data, self._slices, self._fns + (f,))

    def getNumPartitions(self):
        return self._slices

    def collect(self):
        n = self._slices
        chunks = [self._data[i * len(self._data) // n:(i + 1) * len(self._data) // n] for i in range(n)]
        lost = set(int(x) for x in os.environ.get("FAKESPARK_LOSE_TASKS", "").split(",") if x.strip())
        tries = max(1, int(os.environ.get("FAKESPARK_MAX_FAILURES", "1")))

        def task(i):
            err = None
            for _ in range(tries):
                try:
                    if i in lost:
                        raise RuntimeError("ExecutorLostFailure (executor %d exited caused by one of the running tasks) "
                                           "Reason: Container from a bad node (fakespark)" % i)
                    out = []
                    for x in chunks[i]:
                        for f in self._fns:
                            x = f(x)
                        out.append(x)
                    return out, None
                except Exception as e:  # noqa: BLE001 - a task's failure, as Spark reports it
                    err = e
            return None, "Task %d in stage 0.0 failed %d times, most recent failure: Lost task %d.%d in stage 0.0: %s: %s" % (
                i, tries, i, tries - 1, type(err).__name__, err)

        with ThreadPoolExecutor(max_workers=max(1, n)) as ex:
            results = list(ex.map(task, range(n)))
        failures = [e for _, e in results if e]
        if failures:
            raise Exception("Job aborted due to stage failure: " + failures[0])
        return [x for out, _ in results for x in out]


class SparkContext:
    _active = None

    def __init__(self, *args, **kwargs):
        SparkContext._active = self

    @classmethod
    def getOrCreate(cls, conf=None):
        return cls._active or cls()

    def parallelize(self, data, numSlices=None):
        data = list(data)
        return RDD(data, max(1, numSlices or len(data) or 1))

    def stop(self):
        pass
