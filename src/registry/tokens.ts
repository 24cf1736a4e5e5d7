/**
 * @module registry/tokens
 * API tokens: 32 random bytes shown once at creation and stored only as their sha256, so a leaked
 * database does not leak usable tokens. A random 256-bit secret needs no slow hash (scrypt is for
 * guessable passwords); sha256 keeps the per-request check cheap.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Clock, KeelError } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { type Actor, ROLES, type Role } from './identity.js';

const PREFIX = 'keel_';

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export interface TokenInfo {
  id: number;
  user: string;
  role: Role;
  created_at: number;
}

export class TokenStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates a token for `user` with `role`; the returned `token` is the only copy.
   * @throws KeelError INVALID_PARAMETER_VALUE for an empty user or an unknown role.
   */
  async create(user: string, role: string): Promise<TokenInfo & { token: string }> {
    if (!user || !/^[\w.@-]+$/.test(user)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Invalid user name '${user}': use letters, digits, '.', '@', '_', '-'`,
      );
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Invalid role '${role}': use one of ${ROLES.join(', ')}`,
      );
    }
    const token = PREFIX + randomBytes(32).toString('hex');
    const now = this.clock.now();
    await this.db.run(
      'INSERT INTO api_tokens (token_hash, user_name, role, created_at) VALUES (?, ?, ?, ?)',
      [hashToken(token), user, role, now],
    );
    const row = await this.db.get<{ id: number }>('SELECT id FROM api_tokens WHERE token_hash = ?', [
      hashToken(token),
    ]);
    return { id: Number(row!.id), user, role: role as Role, created_at: now, token };
  }

  /** @throws KeelError UNAUTHENTICATED when the token is missing or unknown. */
  async authenticate(token: string | undefined): Promise<Actor> {
    if (!token)
      throw new KeelError('UNAUTHENTICATED', 'An API token is required: send Authorization: Bearer <token>');
    const row = await this.db.get<{ user_name: string; role: Role }>(
      'SELECT user_name, role FROM api_tokens WHERE token_hash = ?',
      [hashToken(token)],
    );
    if (!row) throw new KeelError('UNAUTHENTICATED', 'The API token is not valid');
    return { user: row.user_name, role: row.role };
  }
}
