/**
 * Opens a Registry (and its Tracking) on a fresh store. Gates are opt-in: the policy defaults to
 * none, so a test states the gates it exercises.
 */
import type { ArtifactStore } from '../../src/artifacts/index.js';
import type { Clock } from '../../src/core/index.js';
import { type DeliveryOptions, type Policy, Registry } from '../../src/registry/index.js';
import type { Tracking } from '../../src/tracking/index.js';
import { type Backend, openTestTracking } from './tracking.js';

export const NO_GATES: Policy = { productionAlias: 'champion', stages: {} };

export async function openTestRegistry(
  backend: Backend,
  postgresUrl?: string,
  options: { clock?: Clock; policy?: Policy; delivery?: DeliveryOptions; artifacts?: ArtifactStore } = {},
): Promise<{ registry: Registry; tracking: Tracking; cleanup: () => Promise<void> }> {
  const { tracking, cleanup } = await openTestTracking(
    backend,
    postgresUrl,
    options.clock,
    options.artifacts,
  );
  const registry = new Registry(tracking, {
    clock: options.clock,
    policy: options.policy ?? NO_GATES,
    delivery: options.delivery ?? { baseDelayMs: 10, maxAttempts: 3 },
  });
  await registry.init();
  return {
    registry,
    tracking,
    cleanup: async () => {
      await registry.dispatcher.flush();
      await cleanup();
    },
  };
}
