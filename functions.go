// Package hiringpipeline is the root of the deployed source: it registers
// every Cloud Function with functions-framework-go, as the Go buildpack
// requires the functions to be in the root package.
package hiringpipeline
