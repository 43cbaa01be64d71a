"""SparkSession for the stand-in PySpark (see pyspark/__init__.py)."""

from pyspark import SparkContext


class _Builder:
    def appName(self, name):
        return self

    def master(self, url):
        return self

    def config(self, *args, **kwargs):
        return self

    def getOrCreate(self):
        return SparkSession()


class SparkSession:
    builder = _Builder()

    def __init__(self):
        self.sparkContext = SparkContext.getOrCreate()

    def stop(self):
        pass
