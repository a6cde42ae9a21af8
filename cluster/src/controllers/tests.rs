//! Integration tests against the embedded API server (added once the server lands on main).
