// set: independent
// JavaScript repository built once at start-up with the context it was created under; every later
// query runs on that (long dead, or never-ending) context.
import { wrapPool } from '@ctxkit/pg';

export class UserRepository {
  constructor(ctx, pool) {
    this.ctx = ctx; // expect: no-context-in-field
    this.db = wrapPool(pool);
  }

  async byEmail(email) {
    const { rows } = await this.db.query(this.ctx, 'SELECT id, email, name FROM users WHERE email = $1', [email]);
    return rows[0];
  }
}
