// Command sluice is the Sluice command line: run pipelines, inspect runs and datasets.
package main
