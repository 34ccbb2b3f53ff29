// deploy.ts: deploy one SST stage with its state kept in git, as a bun script:
//
//   bun examples/deploy.ts production
//
// The same three steps as the CI recipes beside this file, through the JS API in one
// process (no Node.js start-up per command): `bunx sst-local-state prepare --stage <stage>`,
// `bunx sst deploy --stage <stage>`, then always `bunx sst-local-state commit --stage <stage>`.
// Exits with the deploy's exit code; after a successful deploy whose state could not be
// saved, with 4 (a conflict) or 1.
import { commitStage, prepareStage } from "sst-local-state";
import type { ErrorCode } from "sst-local-state";

// Run by bun. Only the part of the runtime used here is declared, so that the script
// type-checks without @types/bun or @types/node.
declare const Bun: {
  spawn(
    cmd: string[],
    options: { stdin: "inherit"; stdout: "inherit"; stderr: "inherit" },
  ): { exited: Promise<number> };
};
declare const process: { argv: string[]; exit(code: number): never };
declare const console: { log(line: string): void; error(line: string): void };

/** The `code` of an sst-local-state error (`err.code`), if `err` is one. */
function codeOf(err: unknown): ErrorCode | undefined {
  if (err instanceof Error && "code" in err && typeof err.code === "string") {
    return err.code as ErrorCode;
  }
  return undefined;
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Repository -> SST's config dir. Every file is checked first; an error writes nothing. */
async function prepare(stage: string): Promise<number> {
  try {
    // In CI a stage the repository has no state for is refused (STAGE_UNKNOWN), unless new
    // stages are allowed: here the preview stages of pull requests (or in package.json:
    // "sstLocalState": { "newStages": ["pr-*"] }).
    const prepared = await prepareStage({ stage, allowNewStage: stage.startsWith("pr-") });
    for (const w of prepared.warnings) console.error(`warning[${w.code}]: ${w.message}`);
    const known = prepared.knownStages.join(", ") || "none";
    console.log(prepared.firstDeploy ? `${stage}: first deploy (stages in the repository: ${known})` : `${stage}: state restored`);
    return 0;
  } catch (err) {
    switch (codeOf(err)) {
      case "UNSAVED_STATE":
        // This machine's config dir holds a deploy nobody committed, and the repository
        // changed too: commit that first, or prepare with force: true (backs the files up).
        console.error(`unsaved state in SST's config dir: ${text(err)}`);
        return 4;
      case "AGE_KEY_MISSING":
      case "DECRYPT_FAILED":
        console.error(`set SST_LOCAL_STATE_AGE_KEY to a key listed in age-recipients.txt: ${text(err)}`);
        return 1;
      case "STAGE_UNKNOWN":
        // A typo (`prd` for `prod`)? The message lists the stages the repository holds.
        console.error(text(err));
        return 1;
      case "CONFIG_DIR_LOCKED":
        console.error(`another run of sst-local-state holds SST's config dir: ${text(err)}`);
        return 1;
      default:
        throw err;
    }
  }
}

/** SST's config dir -> one commit of the state files -> push. */
async function save(stage: string): Promise<number> {
  try {
    const saved = await commitStage({ stage });
    for (const w of saved.warnings) console.error(`warning[${w.code}]: ${w.message}`);
    console.log(saved.committed ? `state saved: ${saved.commit} on ${saved.branch}` : "state unchanged");
    return 0;
  } catch (err) {
    switch (codeOf(err)) {
      case "STATE_CONFLICT": {
        // Another run deployed this stage since our prepare. Nothing was overwritten; our
        // state is on a rescue branch (absent only when that push failed too).
        const rescue = (err as { rescueBranch?: string }).rescueBranch;
        console.error(`state conflict, ours is on ${rescue ?? "this machine only"}: ${text(err)}`);
        return 4;
      }
      case "BRANCH_BUSY":
        // Other runs kept moving the branch; nothing conflicted. Saving again is enough
        // (no new deploy): the state is still in SST's config dir.
        console.error(`branch busy, run commit again: ${text(err)}`);
        return 1;
      case "CONFIG_DIR_LOCKED":
        console.error(`another run of sst-local-state holds SST's config dir: ${text(err)}`);
        return 1;
      default:
        console.error(`error[${codeOf(err) ?? "?"}]: state NOT saved: ${text(err)}`);
        return 1;
    }
  }
}

async function main(stage: string): Promise<number> {
  const prepared = await prepare(stage);
  if (prepared !== 0) return prepared; // nothing was deployed, so nothing to save
  let deployExit = 1;
  let saveExit = 0;
  try {
    const deploy = Bun.spawn(["bunx", "sst", "deploy", "--stage", stage], {
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    });
    deployExit = await deploy.exited;
  } finally {
    // Always, also when the deploy failed: one that failed half-way still created or
    // changed real resources, and the next run must know them. (Nothing changed: no commit.)
    saveExit = await save(stage);
  }
  return deployExit !== 0 ? deployExit : saveExit;
}

const stage = process.argv[2];
if (!stage) {
  console.error("usage: bun examples/deploy.ts <stage>");
  process.exit(2);
}
main(stage).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`error[${codeOf(err) ?? "?"}]: ${text(err)}`);
    process.exit(1);
  },
);
