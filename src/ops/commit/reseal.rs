//! Whom a new passphrase is encrypted to: the recipients of the commit it
//! lands in. That is the base's `age-recipients.txt` (what the branch holds:
//! the list a `rekey` last committed), not the worktree's, which may be a
//! clone's old copy still listing a key removed since; only when the base
//! has no list yet is the worktree's used (and committed with it). A push
//! that finds the branch moved builds on the new tip, so the passphrase is
//! sealed again when the new tip lists other keys: a commit racing a
//! `rekey` never lands a file the removed key opens.

use std::borrow::Cow;

use age::x25519::Recipient;

use super::{Output, Plan, Run};
use crate::error::{Error, Result};
use crate::fsx;
use crate::git::gitx::{self, TreeBlob};
use crate::git::remote::git_error;
use crate::stage::seal;
use crate::stage::sealed_to::{self, Sealing};
use crate::warning::Warning;

/// A recipients list, parsed, with its bytes.
pub(super) type Recipients = (Vec<Recipient>, Vec<u8>);

impl<'a> Run<'a> {
    /// The recipients a new passphrase is sealed to on `base` (see the
    /// module docs). A malformed list blocks only a commit that has a
    /// passphrase to encrypt (`sealing`): a state-only commit must not be
    /// blocked (in CI the state would be lost with the runner); it warns.
    pub(super) fn recipients_on(
        &mut self,
        base: Option<&git2::Commit>,
        sealing: bool,
    ) -> Result<Option<Recipients>> {
        let in_base = base
            .map(|b| gitx::blob_at(b, &self.recipients_path))
            .transpose()?
            .flatten();
        let (shown, bytes) = match (in_base, base) {
            (Some(blob), Some(commit)) => {
                let content = self
                    .repo
                    .find_blob(blob)
                    .map_err(|e| git_error("reading the recipients file", &e))?
                    .content()
                    .to_vec();
                let short = &commit.id().to_string()[..12];
                (format!("{}:{}", short, self.recipients_path), content)
            }
            _ => {
                let file = self.workdir.join(&self.recipients_path);
                let Some(content) = fsx::read_optional(&file)? else {
                    return Ok(None);
                };
                (file.to_string(), content)
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        match seal::parse_recipients(camino::Utf8Path::new(&shown), &text) {
            Ok(keys) => Ok(Some((keys, bytes))),
            Err(e) if sealing => Err(e),
            Err(e) => {
                self.warnings.push(Warning::RecipientsInvalid {
                    reason: e.to_string(),
                });
                Ok(None)
            }
        }
    }

    /// On the new base of a retried push: every new passphrase of `plan`
    /// that is not sealed to the base's recipients is sealed again to them
    /// (its blob in `blobs` follows), and the list is added when the base
    /// has none. Nothing to do for a plan that seals nothing.
    pub(super) fn reseal_on(
        &mut self,
        base: Option<&git2::Commit>,
        plan: &mut Plan<'a>,
        blobs: &mut Vec<TreeBlob>,
    ) -> Result<()> {
        let sealed =
            |o: &Output| o.kind.is_some_and(|k| k.is_passphrase()) && o.path.ends_with(".age");
        if !plan.outputs.iter().any(sealed) {
            return Ok(());
        }
        let Some((keys, text)) = self.recipients_on(base, true)? else {
            return Err(Error::option(
                self.workdir.join(&self.recipients_path).as_str(),
                "is gone from the branch and the worktree: the new passphrase has no recipients to be encrypted to",
            ));
        };
        let state = self.state;
        for (output, blob) in plan.outputs.iter_mut().zip(blobs.iter_mut()) {
            if !sealed(output) || sealed_to::check(&output.bytes, &keys) == Sealing::Current {
                continue;
            }
            let kind = output.kind.expect("a passphrase output has a kind");
            let plain = state
                .collected
                .get(kind)
                .expect("changed files were collected");
            output.bytes = Cow::Owned(seal::seal(plain, &keys));
            blob.blob = self
                .repo
                .blob(&output.bytes)
                .map_err(|e| git_error("writing a blob", &e))?;
            if let Some(file) = plan.files.iter_mut().find(|f| f.path == output.path) {
                file.bytes = output.bytes.len() as u64;
            }
            self.timer.step(format!(
                "sealed {} again to the {} recipients of the new tip",
                output.path,
                keys.len()
            ));
        }
        let listed = plan.outputs.iter().any(|o| o.path == self.recipients_path);
        let in_base = base
            .map(|b| gitx::blob_at(b, &self.recipients_path))
            .transpose()?
            .flatten();
        if in_base.is_none() && !listed {
            let blob = self
                .repo
                .blob(&text)
                .map_err(|e| git_error("writing a blob", &e))?;
            plan.outputs.push(Output {
                kind: None,
                path: self.recipients_path.clone(),
                bytes: Cow::Owned(text),
                private: false,
            });
            blobs.push(TreeBlob {
                path: self.recipients_path.clone(),
                blob,
            });
        }
        Ok(())
    }
}
