/**
 * @module monitoring/profile-store
 * Reference profiles in the metadata database, one per model version. A profile is written once
 * (the first writer wins, so two servers profiling the same version at once store one) and
 * read whole.
 */
import { isKeelError } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { parseProfile, type ReferenceProfile, serializeProfile } from './profile.js';

export class ProfileStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Stores a profile unless the version has one; returns the one stored. */
  async save(profile: ReferenceProfile): Promise<ReferenceProfile> {
    try {
      await this.db.run(
        'INSERT INTO monitoring_profiles (name, version, created_at, source, profile) VALUES (?, ?, ?, ?, ?)',
        [
          profile.model,
          Number(profile.version),
          profile.createdAt,
          JSON.stringify(profile.source),
          serializeProfile(profile),
        ],
      );
      return profile;
    } catch (err) {
      if (!isKeelError(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
      return (await this.get(profile.model, profile.version)) ?? profile;
    }
  }

  async get(model: string, version: string | number): Promise<ReferenceProfile | undefined> {
    const row = await this.db.get<{ profile: string }>(
      'SELECT profile FROM monitoring_profiles WHERE name = ? AND version = ?',
      [model, Number(version)],
    );
    return row ? parseProfile(row.profile) : undefined;
  }

  /** Removes a version's profile, so the next use builds it again (from other data). */
  async delete(model: string, version: string | number): Promise<boolean> {
    const { changes } = await this.db.run('DELETE FROM monitoring_profiles WHERE name = ? AND version = ?', [
      model,
      Number(version),
    ]);
    return changes > 0;
  }
}
