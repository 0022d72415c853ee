"""The upload engine: the session state machine, its ledger and events, the carriers that
move parts, checkpoints and resume, finishing (Complete and Abort with their proofs),
stale uploads and receipts. It types against a ``Transport`` protocol and never imports
the HTTP client."""
