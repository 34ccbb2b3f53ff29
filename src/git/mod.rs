//! git: fetch and push (the git CLI, or libgit2 over HTTPS), local plumbing, git's URL rules, redaction of credentials.

pub mod git_cli;
pub mod gitx;
pub mod probe;
pub mod redact;
pub mod remote;
pub mod revision;
pub mod urlmatch;
