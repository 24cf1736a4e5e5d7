/**
 * @module deploy
 * Taking a model to production from CI: the GitHub Actions workflow `keel init --ci github`
 * writes, and the endpoint probe its integration tests run (`keel probe`).
 */
export { type ProbeOptions, type ProbeResult, probeEndpoint, requestRows } from './endpoint-probe.js';
export {
  DEFAULT_WORKFLOW_SETTINGS,
  GITHUB_WORKFLOW_PATH,
  githubWorkflow,
  type WorkflowSettings,
  workflowSettingsSchema,
} from './github-workflow.js';
export { CI_PROVIDERS, type CiProvider, type InitOptions, type InitResult, initProject } from './init.js';
