/// <reference path="./.sst/platform/config.d.ts" />

// sst.config.ts of an app whose state (`home: "local"`) is kept in git by sst-local-state.
// SST runs app() before every command (deploy, secret set, state export, ...) and before it
// reads the local home, so restoring the stage's state here makes every `sst` command on a
// fresh clone or CI machine see the state the repository holds. It is safe to repeat: what
// SST changed since the last sync (a deploy, `sst secret set`) is kept, and only a real
// divergence fails. Saving stays a separate step after the deploy:
// `npx sst-local-state commit --stage <stage>` (see the CI recipes beside this file).
//
// A failure stops SST with only "Unexpected error occurred"; `sst deploy --print-logs` shows
// the line `sst-local-state error[CODE]: ...` first.
export default $config({
  async app(input) {
    // SST forbids top-level imports in sst.config.ts: import the package here, inside app().
    const { prepareStage } = await import("sst-local-state");
    // The stage SST was started with. The app name is read from `name` below (a string
    // literal); the passphrase is decrypted with SST_LOCAL_STATE_AGE_KEY in CI, or with the
    // key `npx sst-local-state init` made on your machine. In CI a stage the repository has
    // no state for is refused (STAGE_UNKNOWN: a typo would deploy a new stage); allow preview
    // stages in package.json: "sstLocalState": { "newStages": ["pr-*"] }.
    await prepareStage({ stage: input?.stage });
    return {
      name: "myapp",
      home: "local",
      removal: input?.stage === "production" ? "retain" : "remove",
    };
  },
  async run() {},
});
