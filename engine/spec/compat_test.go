package spec

import "testing"

// Azure ML files carry keys that do not change what a step computes; they parse.
func TestAzureMLInformationalKeysAccepted(t *testing.T) {
	t.Parallel()
	src := `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: Score images
experiment_name: batch-scoring
tags: {team: vision}
jobs:
  prep:
    type: command
    display_name: Prepare
    description: copies things
    tags: {stage: "1"}
    environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu@latest
    command: echo hi
`
	p, err := Parse("aml.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Jobs["prep"].Command.Raw != "echo hi" {
		t.Fatalf("%+v", p.Jobs["prep"].Command)
	}
}
