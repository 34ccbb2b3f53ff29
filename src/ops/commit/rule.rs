//! The rules that decide what a commit writes and when it must stop, as
//! pure functions of content ids (git blob ids; a passphrase counts as its
//! plaintext). `None` is "absent".
//!
//! - `ours`: what SST left in the config dir (this run's state).
//! - `started_from`: what this run's deploy started from (what prepare
//!   restored or the last commit saved; else HEAD's version).
//! - `at`: what a commit of the branch (the base, or a new tip) holds.
//! - `pending`: what an earlier run of ours on this config dir was pushing
//!   when it ended without recording it (killed after its push landed?).

use std::collections::BTreeSet;

use crate::blob_id::BlobId;
use crate::stage::layout::Kind;
use crate::stage::per_kind::PerKind;

/// One content id per kind of state file (`None`: absent).
pub type Ids = PerKind<Option<BlobId>>;

/// Content ids an earlier run of ours was pushing, per kind.
pub type Pending = PerKind<Vec<BlobId>>;

/// The kinds this run has to write on `at`: present in the config dir,
/// different from `at`, and changed by this run. A file this run did not
/// change since prepare (`ours == started_from`) is not ours to write where
/// `at` holds another version: for a fallback file (shared by every stage)
/// that version is another stage's newer one; for a stage file,
/// [`conflicts`] reports it. Files absent from the config dir are never
/// deleted from the repository.
pub fn changed_kinds(ours: &Ids, started_from: &Ids, at: &Ids) -> BTreeSet<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|&k| ours[k].is_some() && ours[k] != at[k])
        .filter(|&k| at[k].is_none() || ours[k] != started_from[k])
        .collect()
}

/// The kinds whose version at `at` another run changed since this run
/// started (neither what we started from, nor ours, nor an unrecorded push
/// of ours): saving over them would lose that run's state. Fallback files
/// count only when this run changed them too (another stage's change to
/// them alone is kept, see [`changed_kinds`]).
pub fn conflicts(ours: &Ids, started_from: &Ids, at: &Ids, pending: &Pending) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|&k| !k.is_fallback() || ours[k] != started_from[k])
        .filter(|&k| at[k] != started_from[k] && at[k] != ours[k])
        .filter(|&k| !at[k].is_some_and(|id| pending[k].contains(&id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Option<BlobId> {
        Some(git2::Oid::from_bytes(&[n; 20]).unwrap().into())
    }

    /// Ids with `kind` set to `value` and every other kind absent.
    fn ids(kind: Kind, value: Option<BlobId>) -> Ids {
        PerKind::from_fn(|k| if k == kind { value } else { None })
    }

    /// (ours, started_from, at) for one kind; the other kinds absent.
    fn case(
        kind: Kind,
        ours: Option<BlobId>,
        from: Option<BlobId>,
        at: Option<BlobId>,
    ) -> (Ids, Ids, Ids) {
        (ids(kind, ours), ids(kind, from), ids(kind, at))
    }

    /// No unrecorded push.
    fn none() -> Pending {
        Pending::default()
    }

    #[test]
    fn unchanged_everywhere_writes_nothing_and_conflicts_with_nothing() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(1), id(1), id(1));
            assert!(changed_kinds(&o, &f, &a).is_empty());
            assert!(conflicts(&o, &f, &a, &none()).is_empty());
        }
    }

    #[test]
    fn changed_by_us_only_is_written() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(2), id(1), id(1));
            assert_eq!(changed_kinds(&o, &f, &a), BTreeSet::from([kind]));
            assert!(conflicts(&o, &f, &a, &none()).is_empty());
        }
    }

    #[test]
    fn changed_on_the_branch_only_is_not_ours_to_write() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(1), id(1), id(3));
            assert!(changed_kinds(&o, &f, &a).is_empty(), "{kind:?}");
            // a stage file's new version is another deploy of this stage;
            // a fallback's is another stage's, kept silently
            let expected = if kind.is_fallback() {
                vec![]
            } else {
                vec![kind]
            };
            assert_eq!(conflicts(&o, &f, &a, &none()), expected);
        }
    }

    #[test]
    fn changed_on_both_sides_differently_is_a_conflict() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(2), id(1), id(3));
            assert_eq!(conflicts(&o, &f, &a, &none()), vec![kind], "{kind:?}");
        }
    }

    #[test]
    fn changed_on_both_sides_to_the_same_content_is_no_conflict_and_nothing_to_write() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(2), id(1), id(2));
            assert!(changed_kinds(&o, &f, &a).is_empty());
            assert!(conflicts(&o, &f, &a, &none()).is_empty());
        }
    }

    #[test]
    fn added_by_us_is_written_and_added_on_the_branch_meanwhile_conflicts() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(2), None, None);
            assert_eq!(changed_kinds(&o, &f, &a), BTreeSet::from([kind]));
            assert!(conflicts(&o, &f, &a, &none()).is_empty());
            let (o, f, a) = case(kind, id(2), None, id(3));
            assert_eq!(conflicts(&o, &f, &a, &none()), vec![kind]);
        }
    }

    #[test]
    fn a_file_absent_from_the_config_dir_is_never_deleted() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, None, id(1), id(1));
            assert!(changed_kinds(&o, &f, &a).is_empty());
        }
    }

    #[test]
    fn a_file_the_branch_lacks_is_written_even_when_we_did_not_change_it() {
        // e.g. state restored from an uncommitted worktree file
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(1), id(1), None);
            assert_eq!(changed_kinds(&o, &f, &a), BTreeSet::from([kind]));
        }
    }

    #[test]
    fn removed_on_the_branch_since_we_started_conflicts_when_we_changed_it() {
        for kind in Kind::ALL {
            let (o, f, a) = case(kind, id(2), id(1), None);
            assert_eq!(conflicts(&o, &f, &a, &none()), vec![kind]);
        }
    }

    #[test]
    fn an_unrecorded_push_of_ours_on_the_branch_is_our_own_lineage() {
        for kind in Kind::ALL {
            let mut pending = Pending::default();
            pending[kind].extend(id(9));
            let (o, f, a) = case(kind, id(2), id(1), id(9));
            assert!(conflicts(&o, &f, &a, &pending).is_empty(), "{kind:?}");
            // an unrelated push is still a conflict
            let (o, f, a) = case(kind, id(2), id(1), id(8));
            assert_eq!(conflicts(&o, &f, &a, &pending), vec![kind]);
        }
    }

    #[test]
    fn passphrases_follow_the_same_rules_as_their_plaintext_ids() {
        // a new passphrase (absent before) is written; one the branch got
        // meanwhile from another run is a conflict (PASSPHRASE_MISMATCH is
        // decided by the caller when the base already has one)
        let (o, f, a) = case(Kind::Passphrase, id(5), None, None);
        assert_eq!(
            changed_kinds(&o, &f, &a),
            BTreeSet::from([Kind::Passphrase])
        );
        let (o, f, a) = case(Kind::Passphrase, id(5), None, id(6));
        assert_eq!(conflicts(&o, &f, &a, &none()), vec![Kind::Passphrase]);
        let (o, f, a) = case(Kind::FallbackPassphrase, id(5), id(5), id(6));
        assert!(changed_kinds(&o, &f, &a).is_empty());
        assert!(conflicts(&o, &f, &a, &none()).is_empty());
    }
}
