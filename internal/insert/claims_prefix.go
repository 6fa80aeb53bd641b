package insert

// ClaimsPrefix begins the name of every idempotency claim that insert-rows
// keeps in its claims bucket (Config.ClaimsBucket, the staging bucket): one
// object per Idempotency-Key, named ClaimsPrefix + "<table>/<hex sha256>.json".
// Terraform (infra/) scopes insert-rows' Storage grant and the claims'
// lifecycle rule to this prefix, and infra's cross-check compares the two.
const ClaimsPrefix = "idempotency/"
