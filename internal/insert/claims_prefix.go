package insert

// ClaimsPrefix starts the name of every idempotency claim in the claims'
// bucket; Terraform's lifecycle rule for the claims names the same prefix.
const ClaimsPrefix = "idempotency/"
