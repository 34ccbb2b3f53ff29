//! Landing a commit on a remote branch, the one way every writer does it
//! (commit, rollback, rekey, encrypt): build the commit on the branch's
//! tip, push it as a compare-and-swap against that tip (atomic with the
//! refs carried along, such as the stage lock's release), and when another
//! run moved the branch meanwhile, pause (growing, jittered), fetch the new
//! tip and build again, for up to a time budget ([`PUSH_TIMEOUT_ENV`]).
//!
//! A landing ends in one of a few outcomes, each with one error code for
//! every caller ([`Unlanded::error`]): landed; held already (the tip holds
//! what would be committed: nothing to push); a conflicting change on the
//! tip (`STATE_CONFLICT`); a carried ref no longer ours (`LOCK_LOST`);
//! the budget spent while the branch kept moving (`BRANCH_BUSY`). What a
//! caller keeps when nothing landed (a rescue branch) is the caller's.

use std::time::{Duration, Instant};

use git2::Oid;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::git::remote::{PushOutcome, RefUpdate, Remote};
use crate::ops::lock::Carried;
use crate::ops::pause;

/// Env variable: seconds a landing keeps retrying a branch that other runs
/// keep moving (default 300).
pub const PUSH_TIMEOUT_ENV: &str = "SST_LOCAL_STATE_PUSH_TIMEOUT";

/// What a landing needs of a remote: [`Remote`] in the operations, a fake
/// in the tests of the loop.
pub trait Transport {
    /// Fetches `branch`; its tip (None: the remote has no such branch).
    fn fetch_branch(&self, branch: &str) -> Result<Option<Oid>>;
    /// Pushes `oid` to `branch` if the branch is still at `expected`, with
    /// `along` in the same atomic push (see [`Remote::push_along`]).
    fn push_along(
        &self,
        oid: Oid,
        branch: &str,
        expected: Option<Oid>,
        along: &[RefUpdate],
    ) -> Result<PushOutcome>;
    /// The remote-tracking ref of `branch` follows a push that landed `oid`.
    fn track(&self, branch: &str, oid: Oid);
}

impl Transport for Remote<'_> {
    fn fetch_branch(&self, branch: &str) -> Result<Option<Oid>> {
        Remote::fetch_branch(self, branch)
    }

    fn push_along(
        &self,
        oid: Oid,
        branch: &str,
        expected: Option<Oid>,
        along: &[RefUpdate],
    ) -> Result<PushOutcome> {
        Remote::push_along(self, oid, branch, expected, along)
    }

    fn track(&self, branch: &str, oid: Oid) {
        self.track_pushed(branch, oid);
    }
}

/// Where a commit lands and for how long it may try: a remote's branch,
/// the stage lock carried along (released or renewed by the same push),
/// and the time budget.
pub struct Lane<'a, R: Transport + ?Sized> {
    /// The remote.
    pub remote: &'a R,
    /// The branch.
    pub branch: &'a str,
    /// The stage lock updated with the push (settled once it landed).
    pub carried: Option<&'a Carried>,
    /// How long a branch that keeps moving is retried.
    pub budget: Duration,
}

impl<'a, R: Transport + ?Sized> Lane<'a, R> {
    /// `branch` of `remote`, with the budget `env` sets ([`push_budget`]).
    pub fn new(remote: &'a R, branch: &'a str, env: &Env) -> Result<Self> {
        Ok(Lane {
            remote,
            branch,
            carried: None,
            budget: push_budget(env)?,
        })
    }

    /// The same lane, with `carried` updated in every push.
    pub fn carrying(self, carried: Option<&'a Carried>) -> Self {
        Lane { carried, ..self }
    }
}

/// The tip a commit is to be built on.
#[derive(Debug, Clone, Copy)]
pub struct Tip<'t> {
    /// The branch's tip as fetched (None: the remote has no such branch).
    pub id: Option<Oid>,
    /// Why the remote refused the last push (None: the first build).
    pub moved: Option<&'t str>,
}

/// What a build on a tip gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Build {
    /// This commit, built on the tip, to push.
    Commit(Oid),
    /// The tip holds what would be committed already: nothing to push.
    Held,
    /// The tip changed what the commit changes (these paths): pushing on
    /// would overwrite another run's change.
    Conflict(Vec<String>),
}

/// A commit and the tip it was built on (the value its push expects the
/// branch to hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Built {
    /// The commit.
    pub oid: Oid,
    /// The tip it was built on (None: a new branch).
    pub on: Option<Oid>,
}

/// How a landing ended.
#[derive(Debug)]
pub enum Landing {
    /// The branch holds `commit` now (and the carried lock was updated
    /// and settled with it).
    Landed {
        /// The commit that landed.
        commit: Built,
        /// Pushes made.
        attempts: u32,
    },
    /// The tip held what would be committed: nothing was pushed.
    Held {
        /// Pushes made.
        attempts: u32,
    },
    /// Nothing landed (see [`Unlanded::error`]).
    Unlanded(Unlanded),
}

/// Why nothing landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// The tip changed what the commit changes (these paths).
    Conflict(Vec<String>),
    /// A ref carried along (the stage lock) no longer held our value.
    LockLost {
        /// The ref.
        lock_ref: String,
        /// The remote's reason.
        reason: String,
    },
    /// The branch kept moving for the whole budget.
    Busy,
}

/// A landing that landed nothing, with what the caller may keep.
#[derive(Debug)]
pub struct Unlanded {
    /// Why.
    pub why: Why,
    /// The branch.
    pub branch: String,
    /// The last commit built (what a rescue keeps; None: none was built).
    pub commit: Option<Built>,
    /// The branch's tip as this run last saw it.
    pub tip: Option<Oid>,
    /// Pushes made.
    pub attempts: u32,
    /// The budget.
    pub budget: Duration,
}

impl Unlanded {
    /// The error of this outcome, the same code for every caller:
    /// `STATE_CONFLICT`, `LOCK_LOST` or `BRANCH_BUSY`. `rescue_branch`:
    /// where the caller kept its commit (if it did); `note`: what was kept
    /// and what to do.
    pub fn error(self, rescue_branch: Option<String>, note: String) -> Error {
        match self.why {
            Why::Conflict(paths) => Error::StateConflict {
                branch: self.branch,
                paths: paths.join(", "),
                rescue: note,
                rescue_branch,
            },
            Why::LockLost { lock_ref, reason } => Error::LockLost {
                lock_ref,
                reason,
                rescue: note,
                rescue_branch,
            },
            Why::Busy => Error::BranchBusy {
                branch: self.branch,
                attempts: self.attempts,
                seconds: self.budget.as_secs(),
                kept: note,
                rescue_branch,
            },
        }
    }
}

/// Lands a commit on `lane`: pushes `first` (a commit built on a tip this
/// run knows), or without one fetches the tip and asks `build` for it;
/// while the branch moved, pauses, fetches and asks `build` again on the
/// new tip, until it lands, `build` says the tip holds it or conflicts, a
/// carried ref is refused, or the budget is spent. Fetch and push failures
/// (network, authentication, a server's refusal) are errors as they come.
pub fn land<R: Transport + ?Sized>(
    lane: &Lane<'_, R>,
    first: Option<Built>,
    build: &mut dyn FnMut(&Tip<'_>) -> Result<Build>,
) -> Result<Landing> {
    let started = Instant::now();
    let along: Vec<RefUpdate> = lane.carried.iter().map(|c| c.update()).collect();
    let mut attempts = 0;
    let mut last = first;
    let mut moved: Option<String> = None;
    loop {
        let commit = match last {
            Some(commit) if moved.is_none() => commit,
            _ => {
                let id = lane.remote.fetch_branch(lane.branch)?;
                let tip = Tip {
                    id,
                    moved: moved.as_deref(),
                };
                match build(&tip)? {
                    Build::Commit(oid) => Built { oid, on: id },
                    Build::Held => return Ok(Landing::Held { attempts }),
                    Build::Conflict(paths) => {
                        let why = Why::Conflict(paths);
                        return Ok(lane.unlanded(why, last, id, attempts));
                    }
                }
            }
        };
        last = Some(commit);
        attempts += 1;
        match lane
            .remote
            .push_along(commit.oid, lane.branch, commit.on, &along)?
        {
            PushOutcome::Accepted => {
                lane.remote.track(lane.branch, commit.oid);
                if let Some(carried) = lane.carried {
                    carried.settle()?;
                }
                return Ok(Landing::Landed { commit, attempts });
            }
            PushOutcome::AlongRefused { dst, reason } => {
                let why = Why::LockLost {
                    lock_ref: dst,
                    reason,
                };
                return Ok(lane.unlanded(why, last, commit.on, attempts));
            }
            PushOutcome::Moved(reason) => moved = Some(reason),
        }
        let left = lane.budget.saturating_sub(started.elapsed());
        let Some(pause) = backoff(attempts, left) else {
            return Ok(lane.unlanded(Why::Busy, last, commit.on, attempts));
        };
        std::thread::sleep(pause);
    }
}

impl<R: Transport + ?Sized> Lane<'_, R> {
    fn unlanded(
        &self,
        why: Why,
        commit: Option<Built>,
        tip: Option<Oid>,
        attempts: u32,
    ) -> Landing {
        Landing::Unlanded(Unlanded {
            why,
            branch: self.branch.to_string(),
            commit,
            tip,
            attempts,
            budget: self.budget,
        })
    }
}

/// The time budget of a landing: env [`PUSH_TIMEOUT_ENV`] seconds, else 300.
pub fn push_budget(env: &Env) -> Result<Duration> {
    match env.non_empty(PUSH_TIMEOUT_ENV) {
        None => Ok(Duration::from_secs(300)),
        Some(v) => v.trim().parse().map(Duration::from_secs).map_err(|_| {
            Error::option(
                format!("env {PUSH_TIMEOUT_ENV}"),
                format!("{v:?} is not a whole number of seconds"),
            )
        }),
    }
}

/// The pause before push attempt `attempts + 1`: random in the upper half
/// of 100 ms × 2^(attempts-1), capped at 3 s, so racing runs spread out;
/// `None` when it would not fit in what is left of the budget.
fn backoff(attempts: u32, left: Duration) -> Option<Duration> {
    let pause = pause::jittered(attempts, Duration::from_millis(100), Duration::from_secs(3));
    (pause < left).then_some(pause)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    /// A remote that answers fetches and pushes from scripts, and records
    /// the pushes it was asked for.
    #[derive(Default)]
    struct FakeRemote {
        tips: RefCell<VecDeque<Option<Oid>>>,
        answers: RefCell<VecDeque<Result<PushOutcome>>>,
        pushed: RefCell<Vec<(Oid, Option<Oid>, usize)>>,
        tracked: RefCell<Vec<Oid>>,
    }

    impl FakeRemote {
        fn new(tips: &[Option<Oid>], answers: Vec<Result<PushOutcome>>) -> Self {
            FakeRemote {
                tips: RefCell::new(tips.iter().copied().collect()),
                answers: RefCell::new(answers.into()),
                ..FakeRemote::default()
            }
        }
    }

    impl Transport for FakeRemote {
        fn fetch_branch(&self, _branch: &str) -> Result<Option<Oid>> {
            Ok(self
                .tips
                .borrow_mut()
                .pop_front()
                .expect("a fetch scripted"))
        }

        fn push_along(
            &self,
            oid: Oid,
            _branch: &str,
            expected: Option<Oid>,
            along: &[RefUpdate],
        ) -> Result<PushOutcome> {
            self.pushed.borrow_mut().push((oid, expected, along.len()));
            self.answers
                .borrow_mut()
                .pop_front()
                .expect("a push scripted")
        }

        fn track(&self, _branch: &str, oid: Oid) {
            self.tracked.borrow_mut().push(oid);
        }
    }

    fn lane(remote: &FakeRemote, budget: Duration) -> Lane<'_, FakeRemote> {
        Lane {
            remote,
            branch: "main",
            carried: None,
            budget,
        }
    }

    fn moved() -> Result<PushOutcome> {
        Ok(PushOutcome::Moved("stale info".into()))
    }

    const LONG: Duration = Duration::from_secs(60);

    #[test]
    fn a_commit_built_on_the_known_tip_lands_on_the_first_push_and_is_tracked() {
        let remote = FakeRemote::new(&[], vec![Ok(PushOutcome::Accepted)]);
        let first = Built {
            oid: oid(1),
            on: Some(oid(9)),
        };
        let landing = land(&lane(&remote, LONG), Some(first), &mut |_| {
            panic!("nothing to rebuild")
        })
        .unwrap();
        assert!(matches!(landing, Landing::Landed { commit, attempts: 1 } if commit == first));
        assert_eq!(*remote.pushed.borrow(), [(oid(1), Some(oid(9)), 0)]);
        assert_eq!(*remote.tracked.borrow(), [oid(1)]);
    }

    #[test]
    fn without_a_commit_the_tip_is_fetched_and_built_on_first() {
        let remote = FakeRemote::new(&[None], vec![Ok(PushOutcome::Accepted)]);
        let mut seen = Vec::new();
        let landing = land(&lane(&remote, LONG), None, &mut |tip| {
            seen.push((tip.id, tip.moved.map(str::to_string)));
            Ok(Build::Commit(oid(1)))
        })
        .unwrap();
        assert_eq!(seen, [(None, None)]);
        // a new branch: the push expects it absent
        assert_eq!(*remote.pushed.borrow(), [(oid(1), None, 0)]);
        assert!(matches!(landing, Landing::Landed { attempts: 1, .. }));
    }

    #[test]
    fn a_moved_branch_is_fetched_built_on_again_and_pushed_against_the_new_tip() {
        let remote = FakeRemote::new(
            &[Some(oid(8)), Some(oid(7))],
            vec![moved(), moved(), Ok(PushOutcome::Accepted)],
        );
        let first = Built {
            oid: oid(1),
            on: Some(oid(9)),
        };
        let mut seen = Vec::new();
        let landing = land(&lane(&remote, LONG), Some(first), &mut |tip| {
            seen.push((tip.id, tip.moved.map(str::to_string)));
            Ok(Build::Commit(oid(seen.len() as u8 + 1)))
        })
        .unwrap();
        let why = Some("stale info".to_string());
        assert_eq!(seen, [(Some(oid(8)), why.clone()), (Some(oid(7)), why)]);
        assert_eq!(
            *remote.pushed.borrow(),
            [
                (oid(1), Some(oid(9)), 0),
                (oid(2), Some(oid(8)), 0),
                (oid(3), Some(oid(7)), 0)
            ]
        );
        let landed = Built {
            oid: oid(3),
            on: Some(oid(7)),
        };
        assert!(matches!(landing, Landing::Landed { commit, attempts: 3 } if commit == landed));
        assert_eq!(*remote.tracked.borrow(), [oid(3)]);
    }

    #[test]
    fn a_new_tip_that_holds_the_change_already_ends_it_without_a_push() {
        let remote = FakeRemote::new(&[Some(oid(8))], vec![moved()]);
        let first = Built {
            oid: oid(1),
            on: Some(oid(9)),
        };
        let landing = land(&lane(&remote, LONG), Some(first), &mut |_| Ok(Build::Held)).unwrap();
        assert!(matches!(landing, Landing::Held { attempts: 1 }));
        assert!(remote.tracked.borrow().is_empty());
    }

    /// The outcome's error, for a caller that kept nothing.
    fn error_of(landing: Landing) -> Error {
        match landing {
            Landing::Unlanded(u) => u.error(None, "kept nothing".into()),
            other => panic!("landed: {other:?}"),
        }
    }

    #[test]
    fn a_conflicting_change_on_the_new_tip_is_a_state_conflict_keeping_the_last_commit() {
        let remote = FakeRemote::new(&[Some(oid(8))], vec![moved()]);
        let first = Built {
            oid: oid(1),
            on: Some(oid(9)),
        };
        let landing = land(&lane(&remote, LONG), Some(first), &mut |_| {
            Ok(Build::Conflict(vec!["infra/state/app/dev.json".into()]))
        })
        .unwrap();
        let Landing::Unlanded(u) = landing else {
            panic!("landed")
        };
        assert_eq!(
            (u.commit, u.tip, u.attempts),
            (Some(first), Some(oid(8)), 1)
        );
        let e = u.error(Some("rescue".into()), "kept".into());
        assert_eq!(e.code(), "STATE_CONFLICT");
        assert_eq!(e.details()["rescueBranch"], "rescue");
        assert!(e.to_string().contains("infra/state/app/dev.json"), "{e}");
    }

    #[test]
    fn a_spent_budget_is_branch_busy_whoever_lands() {
        let remote = FakeRemote::new(&[], vec![moved()]);
        let first = Built {
            oid: oid(1),
            on: Some(oid(9)),
        };
        let landing = land(&lane(&remote, Duration::ZERO), Some(first), &mut |_| {
            panic!("no time to build again")
        })
        .unwrap();
        let e = error_of(landing);
        assert_eq!(e.code(), "BRANCH_BUSY");
        assert!(e.to_string().contains("(1 push attempts)"), "{e}");
        assert!(e.to_string().ends_with("kept nothing"), "{e}");
    }

    #[test]
    fn a_branch_that_keeps_moving_is_retried_until_the_budget_is_spent() {
        let answers = (0..40).map(|_| moved()).collect();
        let remote = FakeRemote::new(&[Some(oid(8)); 40], answers);
        let started = Instant::now();
        let landing = land(
            &lane(&remote, Duration::from_millis(400)),
            None,
            &mut |_| Ok(Build::Commit(oid(1))),
        )
        .unwrap();
        let Landing::Unlanded(u) = landing else {
            panic!("landed")
        };
        assert_eq!(u.why, Why::Busy);
        assert!(u.attempts >= 2, "retried: {}", u.attempts);
        // it stops when the next pause would not fit (sleeps may overshoot a little)
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_refused_carried_ref_is_lock_lost() {
        let refused = PushOutcome::AlongRefused {
            dst: "refs/heads/sst-local-state/lock/a/dev".into(),
            reason: "stale info".into(),
        };
        let remote = FakeRemote::new(&[Some(oid(9))], vec![Ok(refused)]);
        let landing = land(&lane(&remote, LONG), None, &mut |_| {
            Ok(Build::Commit(oid(1)))
        })
        .unwrap();
        let e = error_of(landing);
        assert_eq!(e.code(), "LOCK_LOST");
        assert_eq!(
            e.details()["lockRef"],
            "refs/heads/sst-local-state/lock/a/dev"
        );
    }

    #[test]
    fn fetch_push_and_build_failures_are_errors_as_they_come() {
        let refused = Err(Error::PushRejected {
            branch: "main".into(),
            reason: "protected branch".into(),
        });
        let remote = FakeRemote::new(&[Some(oid(9))], vec![refused]);
        let e = land(&lane(&remote, LONG), None, &mut |_| {
            Ok(Build::Commit(oid(1)))
        })
        .unwrap_err();
        assert_eq!(e.code(), "PUSH_REJECTED");
        let remote = FakeRemote::new(&[None], vec![]);
        let e = land(&lane(&remote, LONG), None, &mut |_| {
            Err(Error::option("--branch", "no such branch"))
        })
        .unwrap_err();
        assert_eq!(e.code(), "INVALID_OPTION");
    }

    #[test]
    fn backoff_grows_is_capped_and_respects_the_budget() {
        let big = Duration::from_secs(600);
        let first = backoff(1, big).unwrap();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        assert!(backoff(10, big).unwrap() <= Duration::from_secs(3));
        assert!(backoff(1, Duration::ZERO).is_none());
    }

    #[test]
    fn the_budget_comes_from_the_environment() {
        let env = |v: &str| Env::from_pairs(&[(PUSH_TIMEOUT_ENV, v)]);
        assert_eq!(push_budget(&Env::from_pairs(&[])).unwrap().as_secs(), 300);
        assert_eq!(push_budget(&env(" 5 ")).unwrap().as_secs(), 5);
        assert_eq!(
            push_budget(&env("soon")).unwrap_err().code(),
            "INVALID_OPTION"
        );
    }
}
