/** `vigil migrate`: create or upgrade the state schema (also done at every start). */
import { errorText } from "../log.js";
import { migrate } from "../store/migrations.js";
import { openStateDatabase } from "./state-access.js";

export async function migrateCommand(configPath: string): Promise<number> {
  try {
    const db = await openStateDatabase(configPath);
    try {
      const applied = await migrate(db);
      process.stdout.write(
        applied.length ? `applied migrations: ${applied.join(", ")} (${db.target})\n` : `state schema is up to date (${db.target})\n`,
      );
    } finally {
      await db.close();
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigil migrate: ${errorText(err)}\n`);
    return 1;
  }
}
