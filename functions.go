// Package hiringpipeline is the root of the deployed source: it registers
// every Cloud Function with functions-framework-go, as the Go buildpack
// requires the functions to be in the root package.
package hiringpipeline

import (
	"github.com/hiring-pipeline/hiring-pipeline/functions/backuptables"
	"github.com/hiring-pipeline/hiring-pipeline/functions/insertrows"
	"github.com/hiring-pipeline/hiring-pipeline/functions/loadcsv"
	"github.com/hiring-pipeline/hiring-pipeline/functions/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/functions/restoretable"
	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// Functions lists every deployed function; Terraform deploys one per entry
// and the local stack mounts them all.
var Functions = []function.Definition{
	loadcsv.Definition,
	insertrows.Definition,
	backuptables.Definition,
	restoretable.Definition,
	metrics.Definition,
}

func init() {
	for _, d := range Functions {
		function.Register(d)
	}
}
