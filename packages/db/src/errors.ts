import { IacaError } from "@iaca/policy";

/** Database failures a caller may act on (connection, data directory in use). */
export class DbError extends IacaError {}

/** Base of migration failures; `details.migration` names the migration folder. */
export class MigrationError extends DbError {}

/** An applied migration's migration.sql was edited after it ran (code DB_MIGRATION_CHECKSUM_MISMATCH). */
export class MigrationChecksumMismatchError extends MigrationError {
  constructor(migration: string, recorded: string, actual: string) {
    super(
      "DB_MIGRATION_CHECKSUM_MISMATCH",
      `migration ${migration} was modified after it was applied (recorded checksum ${recorded}, file has ${actual}); restore the original migration.sql and put the change in a new migration`,
      { migration, recorded, actual },
    );
  }
}

/** A migration's SQL failed while this run applied it; its transaction was rolled back (code DB_MIGRATION_FAILED). */
export class MigrationFailedError extends MigrationError {
  constructor(migration: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      "DB_MIGRATION_FAILED",
      `migration ${migration} failed and was rolled back: ${reason}`,
      { migration },
      { cause },
    );
  }
}

/**
 * A failed migration is recorded in _prisma_migrations (finished_at and rolled_back_at empty, Prisma's P3009);
 * nothing is applied until it is resolved (code DB_MIGRATION_UNRESOLVED).
 */
export class MigrationUnresolvedError extends MigrationError {
  constructor(migration: string) {
    super(
      "DB_MIGRATION_UNRESOLVED",
      `migration ${migration} failed earlier and is not resolved; fix it, then run resolveMigration(db, "${migration}", "rolled-back") (or \`prisma migrate resolve --rolled-back ${migration}\`)`,
      { migration },
    );
  }
}

/** The database has applied a migration this code does not have (code DB_MIGRATION_MISSING_LOCALLY). */
export class MigrationMissingLocallyError extends MigrationError {
  constructor(migrations: string[]) {
    super(
      "DB_MIGRATION_MISSING_LOCALLY",
      `the database has applied migrations that are not in the migrations folder: ${migrations.join(", ")} (is this an older release than the database?)`,
      { migrations },
    );
  }
}

/** The migrations folder is not in Prisma's layout (code DB_MIGRATION_LAYOUT). */
export class MigrationLayoutError extends MigrationError {}

/** An audit event was rejected before it was written (code DB_AUDIT_INVALID_EVENT). */
export class AuditError extends DbError {}
