package insert

// ClaimsPrefix begins the name of every object that insert-rows keeps for
// its idempotency claims in the claims bucket (Config.ClaimsBucket, the
// staging bucket): per Idempotency-Key, ClaimsPrefix +
// "<table>/<hex sha256>.json" and its answer and step objects beside it
// (see package idempotency). Terraform (infra/) scopes insert-rows' Storage
// grant and the claims' lifecycle rule to this prefix, and infra's
// cross-check compares the two.
const ClaimsPrefix = "idempotency/"
