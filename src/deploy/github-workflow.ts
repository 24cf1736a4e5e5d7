/**
 * @module deploy/github-workflow
 * The GitHub Actions workflow `keel init --ci github` writes: a push that touches code, configs or
 * dvc.lock is tested, its data validated, its pipeline reproduced and its model checked against
 * thresholds; on main the model is registered, deployed to staging and tested there, and a job in
 * the protected `production` environment (GitHub's manual approval) promotes it through Keel's
 * governance gates. Every step's outcome is a `keel` command's exit code.
 *
 * Values reach `run:` scripts only through `env:` (never `${{ }}` inside a script), so nothing a
 * push controls is spliced into a shell line.
 */
import { z } from 'zod';
import { parseInput } from '../core/index.js';

const path = z
  .string()
  .min(1)
  .regex(/^[^\n"'$`\\]+$/, 'a path without quotes, $, backquotes, backslashes or line breaks');

/** What the workflow needs to know about the project; every field has a default. */
export const workflowSettingsSchema = z.strictObject({
  /** The registered model's name. */
  model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a model name (letters, digits, _ . -)'),
  /** The dataset `keel ingest` validates the data into. */
  dataset: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a dataset name (letters, digits, _ . -)'),
  /** The data files (space-separated paths or globs). */
  data: path,
  /** The ingest schema (docs/ingest-schema.md). */
  schema: path,
  /** The ONNX file the pipeline's training stage writes. */
  modelFile: path,
  /** Labelled data `keel evaluate` checks the model on. */
  evalData: path,
  /** Metric bounds for `keel evaluate --thresholds`. */
  thresholds: path,
  /** An MLflow scoring request (JSON) the integration test sends to /invocations. */
  probeData: path,
  /** The Node version the jobs install. */
  nodeVersion: z.string().regex(/^\d+(\.\d+){0,2}$/),
});

export type WorkflowSettings = z.infer<typeof workflowSettingsSchema>;

export const DEFAULT_WORKFLOW_SETTINGS: WorkflowSettings = {
  model: 'model',
  dataset: 'training',
  data: 'data/*.csv',
  schema: 'schema.yaml',
  modelFile: 'model.onnx',
  evalData: 'data/test.csv',
  thresholds: 'thresholds.yaml',
  probeData: 'probe.json',
  nodeVersion: '20',
};

/** Where the workflow goes in a repository. */
export const GITHUB_WORKFLOW_PATH = '.github/workflows/keel.yml';

/** The steps every job starts with: the commit, Node, the project's own Keel on PATH. */
const setup = (node: string) => `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: '${node}'
          cache: npm
      - name: Install
        run: |
          npm ci
          echo "$PWD/node_modules/.bin" >> "$GITHUB_PATH"`;

/**
 * The workflow's text for `settings` (completed from the defaults).
 * @throws KeelError INVALID_PARAMETER_VALUE for a setting that is not valid.
 */
export function githubWorkflow(settings: Partial<WorkflowSettings> = {}): string {
  const s = parseInput(
    workflowSettingsSchema,
    { ...DEFAULT_WORKFLOW_SETTINGS, ...settings },
    'workflow settings',
  );
  return `# Keel's CI/CD, written by \`keel init --ci github\`.
#
# A push that touches code, configs or dvc.lock: install, test, validate the data (keel ingest),
# reproduce the pipeline (keel repro) and check the model against thresholds (keel evaluate).
# On main, then: register the run's model, deploy it to staging (the Staging stage, which the
# staging \`keel serve --model models:/${s.model}/Staging\` replicas follow), test the staging endpoint
# through /invocations (keel probe), and, once a reviewer approves the protected \`production\`
# environment, promote it through Keel's governance gates to Production, which the production
# replicas (\`--model models:/${s.model}@champion\`) follow.
#
# Settings this needs (Settings > Secrets and variables, Settings > Environments):
#   secrets KEEL_DB          the shared metadata database (postgres://...): runs and the registry
#           KEEL_ARTIFACTS   the shared artifact store the runs' models are logged to
#                            (s3://bucket/prefix?region=...), with AWS_ACCESS_KEY_ID and
#                            AWS_SECRET_ACCESS_KEY for it (none with a role the runner assumes)
#           KEEL_CI_TOKEN    keel tokens create --user ci --role writer
#   environment staging      variable KEEL_URL: the staging keel serve
#   environment production   required reviewers; variable KEEL_URL: the production keel serve;
#                            secret KEEL_APPROVER_TOKEN: keel tokens create --user release --role approver
# Where KEEL_DB and KEEL_ARTIFACTS are not set, Keel uses its embedded stores in .keel/, which a
# job keeps to itself: validation works, the jobs after it need the shared stores.
name: keel

on:
  push:
    paths:
      - '**.ts'
      - '**.js'
      - '**.mjs'
      - '**.py'
      - '**.sql'
      - '**.yaml'
      - '**.yml'
      - '**.json'
      - '**.dvc'
      - dvc.lock
  workflow_dispatch:

permissions:
  contents: read

# One deployment at a time per branch; a newer push waits rather than cancelling one half-done.
concurrency:
  group: keel-\${{ github.ref }}
  cancel-in-progress: false

defaults:
  run:
    shell: bash

env:
  KEEL_MODEL: ${JSON.stringify(s.model)}
  KEEL_DATASET: ${JSON.stringify(s.dataset)}
  KEEL_DATA: ${JSON.stringify(s.data)}
  KEEL_SCHEMA: ${JSON.stringify(s.schema)}
  KEEL_MODEL_FILE: ${JSON.stringify(s.modelFile)}
  KEEL_EVAL_DATA: ${JSON.stringify(s.evalData)}
  KEEL_THRESHOLDS: ${JSON.stringify(s.thresholds)}
  KEEL_PROBE_DATA: ${JSON.stringify(s.probeData)}
  KEEL_DB: \${{ secrets.KEEL_DB }}
  KEEL_ARTIFACTS: \${{ secrets.KEEL_ARTIFACTS }}
  AWS_ACCESS_KEY_ID: \${{ secrets.AWS_ACCESS_KEY_ID }}
  AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}
  # onnxruntime-node's install script downloads CUDA files; its CPU library ships in the package.
  ONNXRUNTIME_NODE_INSTALL: skip

jobs:
  validate:
    name: test, validate the data, reproduce, evaluate
    runs-on: ubuntu-latest
    env:
      KEEL_TOKEN: \${{ secrets.KEEL_CI_TOKEN }}
    outputs:
      run_id: \${{ steps.repro.outputs.run_id }}
    steps:
${setup(s.nodeVersion)}
      - name: Test
        run: npm test
      - name: Validate the data
        # KEEL_DATA is a list of paths or globs: split on purpose.
        run: |
          # shellcheck disable=SC2086
          keel ingest "$KEEL_DATASET" $KEEL_DATA --schema "$KEEL_SCHEMA"
      - name: Reproduce the pipeline
        id: repro
        # Every stage runs from its inputs (--force) into one tracking run.
        run: |
          keel repro --force --json > "$RUNNER_TEMP/repro.json"
          run_id=$(jq -er .runId "$RUNNER_TEMP/repro.json")
          echo "run_id=$run_id" >> "$GITHUB_OUTPUT"
      - name: Evaluate against the thresholds
        env:
          RUN_ID: \${{ steps.repro.outputs.run_id }}
        run: keel evaluate --model "$KEEL_MODEL_FILE" --data "$KEEL_EVAL_DATA" --thresholds "$KEEL_THRESHOLDS" --run-id "$RUN_ID"

  register:
    name: register the model
    needs: validate
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    runs-on: ubuntu-latest
    env:
      KEEL_TOKEN: \${{ secrets.KEEL_CI_TOKEN }}
    outputs:
      version: \${{ steps.register.outputs.version }}
    steps:
${setup(s.nodeVersion)}
      - name: Register the run's model
        id: register
        env:
          RUN_ID: \${{ needs.validate.outputs.run_id }}
        run: |
          keel models register "$KEEL_MODEL" "runs:/$RUN_ID/model" --json > "$RUNNER_TEMP/version.json"
          version=$(jq -er .version "$RUNNER_TEMP/version.json")
          echo "version=$version" >> "$GITHUB_OUTPUT"
      - name: Benchmark its latency for the latency gate
        env:
          VERSION: \${{ steps.register.outputs.version }}
        run: keel models benchmark "$KEEL_MODEL" "$VERSION"

  staging:
    name: deploy to staging and test it
    needs: register
    runs-on: ubuntu-latest
    environment:
      name: staging
      url: \${{ vars.KEEL_URL }}
    env:
      KEEL_TOKEN: \${{ secrets.KEEL_CI_TOKEN }}
      VERSION: \${{ needs.register.outputs.version }}
    steps:
${setup(s.nodeVersion)}
      - name: Deploy to staging
        run: keel models promote "$KEEL_MODEL" "$VERSION" --to Staging
      - name: Integration test against the staging endpoint
        env:
          KEEL_URL: \${{ vars.KEEL_URL }}
        run: keel probe "$KEEL_URL" --model "$KEEL_MODEL" --version "$VERSION" --data "$KEEL_PROBE_DATA"

  production:
    name: promote to production
    needs: [register, staging]
    runs-on: ubuntu-latest
    # The manual approval: the job starts once a required reviewer of this environment approves.
    environment:
      name: production
      url: \${{ vars.KEEL_URL }}
    env:
      VERSION: \${{ needs.register.outputs.version }}
      # A secret of the production environment: no job sees it before a reviewer approved.
      KEEL_APPROVER_TOKEN: \${{ secrets.KEEL_APPROVER_TOKEN }}
    steps:
${setup(s.nodeVersion)}
      - name: Promote through the governance gates
        id: promote
        # A failed gate exits 7 and stops here; a policy that wants an approval files a request.
        env:
          KEEL_TOKEN: \${{ secrets.KEEL_CI_TOKEN }}
        run: |
          keel models promote "$KEEL_MODEL" "$VERSION" --to Production --json > "$RUNNER_TEMP/promotion.json"
          request_id=$(jq -r '.request_id // empty' "$RUNNER_TEMP/promotion.json")
          echo "request_id=$request_id" >> "$GITHUB_OUTPUT"
      - name: Record the approval in Keel
        # Keel refuses an approval by the requester (the ci user). Without an approver token the
        # request waits for an approver's own \`keel models approve\` (a keel command without a
        # token would act as the runner's local user, an admin).
        if: steps.promote.outputs.request_id != '' && env.KEEL_APPROVER_TOKEN != ''
        env:
          KEEL_TOKEN: \${{ env.KEEL_APPROVER_TOKEN }}
          REQUEST_ID: \${{ steps.promote.outputs.request_id }}
          REVIEW_URL: \${{ github.server_url }}/\${{ github.repository }}/actions/runs/\${{ github.run_id }}
        run: keel models approve "$REQUEST_ID" --reason "approved in the GitHub production environment review of $REVIEW_URL"
      - name: Check the production endpoint serves it
        env:
          KEEL_TOKEN: \${{ secrets.KEEL_CI_TOKEN }}
          KEEL_URL: \${{ vars.KEEL_URL }}
        run: keel probe "$KEEL_URL" --model "$KEEL_MODEL" --version "$VERSION" --data "$KEEL_PROBE_DATA"
`;
}
