import { defineConfig } from "prisma/config";

// Migrations are applied by packages/db's own runner (see docs/database.md);
// the URL matters only where the native schema engine is available.
export default defineConfig({
  schema: "prisma/schema",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" },
});
