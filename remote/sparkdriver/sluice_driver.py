"""Sluice scale-out driver: runs the sluice binary on N shards of a dataflow step as Spark tasks.

Submitted by Sluice's databricks: and hdinsight: compute targets (spark_python_task / Livy batch
`file`), with the binary and the step's files shipped alongside:

    sluice_driver.py --shards N --binary BIN [--files-dir DIR] -- score ARGS...

Task i of N copies BIN to a private folder, makes it executable and runs
`BIN ARGS... --shard i/N --state-dir FOLDER`. An argument written @file:NAME is replaced by the
local path of the shipped file NAME: DIR/NAME when --files-dir is given (Databricks: the DBFS or
workspace-files FUSE folder), else SparkFiles.get(NAME) (files shipped with the job's `files`).
The shards share nothing but the output on Blob: each partition is committed there with its
record, so a failed task is retried (spark.task.maxFailures) or the step rerun without redoing
what was committed. A task that fails raises an error carrying the end of sluice's stderr, so
the step fails with it. Credentials reach sluice through the executors' environment (Databricks
spark_env_vars, Livy spark.executorEnv.*), never through arguments.
"""

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time

TAIL = 4000  # characters of a failed task's stderr carried in its error


def parse(argv):
    opts = {"shards": 0, "binary": "", "files_dir": ""}
    i = 0
    while i < len(argv) and argv[i] != "--":
        key = argv[i]
        if key not in ("--shards", "--binary", "--files-dir") or i + 1 >= len(argv):
            raise SystemExit("sluice_driver.py: bad argument %r (usage: --shards N --binary BIN [--files-dir DIR] -- ARGS...)" % key)
        opts[key[2:].replace("-", "_")] = argv[i + 1]
        i += 2
    shards = int(opts["shards"])
    if shards < 1 or not opts["binary"] or i >= len(argv):
        raise SystemExit("sluice_driver.py: need --shards N >= 1, --binary and -- ARGS...")
    return shards, opts["binary"], opts["files_dir"], argv[i + 1:]


def locate(name, files_dir):
    if os.path.isabs(name):
        return name
    if files_dir:
        return os.path.join(files_dir, name)
    from pyspark import SparkFiles
    return SparkFiles.get(name)


def tail(text):
    text = text.strip()
    return text if len(text) <= TAIL else "..." + text[-TAIL:]


def run_exe(argv, cwd):
    # Tasks that are threads of one process copy and start their binaries at the same time: a
    # fork in one task can hold another task's still-open copy for a moment, and exec then fails
    # with ETXTBSY ("Text file busy"). That passes as soon as the fork execs; retry briefly.
    for attempt in range(50):
        try:
            return subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            if e.errno != errno.ETXTBSY or attempt == 49:
                raise
            time.sleep(0.02 * (attempt + 1))


def run_shard(shard, shards, binary, files_dir, args):
    work = tempfile.mkdtemp(prefix="sluice-shard-%d-" % shard)
    try:
        exe = os.path.join(work, "sluice")
        shutil.copyfile(locate(binary, files_dir), exe)
        os.chmod(exe, 0o755)
        argv = [exe]
        for a in args:
            argv.append(locate(a[len("@file:"):], files_dir) if a.startswith("@file:") else a)
        argv += ["--shard", "%d/%d" % (shard, shards), "--state-dir", os.path.join(work, "state")]
        p = run_exe(argv, work)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            raise RuntimeError("sluice shard %d/%d exited with status %d: %s" % (shard, shards, p.returncode, tail(err or out)))
        return shard, tail(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    shards, binary, files_dir, args = parse(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("sluice scale-out").getOrCreate()
    sc = spark.sparkContext
    print("sluice: %d shards: %s" % (shards, " ".join(args[:1])), flush=True)
    try:
        results = sc.parallelize(range(shards), shards).map(
            lambda i: run_shard(i, shards, binary, files_dir, args)).collect()
    except Exception as e:  # a task failed on every try: the step fails with its error
        print("sluice: scale-out failed: %s" % e, file=sys.stderr, flush=True)
        raise
    for shard, out in sorted(results):
        for line in out.splitlines():
            print("shard %d/%d: %s" % (shard, shards, line), flush=True)
    print("sluice: all %d shards succeeded" % shards, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
