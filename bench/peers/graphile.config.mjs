// PostGraphile v5 over the bench database: Amber preset + simplify-inflection, list collections
// only, schema public. Read by `postgraphile -C graphile.config.mjs`; bench.py sets the env vars.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgSimplifyInflectionPreset } from "@graphile/simplify-inflection";

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset, PgSimplifyInflectionPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PEERS_PG_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PEERS_PG_POOL || 20) },
    }),
  ],
  schema: { defaultBehavior: "-connection +list", pgOmitListSuffix: true },
  grafserv: {
    host: process.env.PEERS_HOST || "127.0.0.1",
    port: Number(process.env.PEERS_PORT || 5678),
    graphiql: false,
    watch: false,
  },
  grafast: { explain: false },
};

export default preset;
