package web_test

import "github.com/sluice-ml/sluice/server/catalog"

func catalogSubmission(gate string) catalog.Submission {
	return catalog.Submission{Pipeline: "gated", Parameters: map[string]string{"gate": gate}}
}
