"""Layer 4: the seed page audited, formula by formula and claim by claim.

`claims.audit` checks each formula the page states with the formula checker, each property
claim against the kernels, and each measured claim against the report's measurements and its
verdicts (`base.Evidence`); it returns data only (`base.ClaimRow`): the report's claims
template writes the words.
"""
