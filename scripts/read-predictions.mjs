// Reads batch-scoring Parquet output with DuckDB, a reader independent of Sluice, and prints
// what it holds: rows, errors, a few predictions, and the top-1 accuracy when the images sit in
// folders named after their true class (the sample's layout).
//
//   node scripts/read-predictions.mjs OUTPUT_FOLDER
//
// DuckDB comes from npm (@duckdb/node-api), installed by scripts/setup-duckdb.sh into .tools/duckdb.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(root, ".tools/duckdb/package.json"));
const { DuckDBInstance } = require("@duckdb/node-api");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/read-predictions.mjs OUTPUT_FOLDER");
  process.exit(2);
}
const files = path.join(dir, "part-*.parquet").replaceAll("'", "''");
const db = await DuckDBInstance.create(":memory:");
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const src = `read_parquet('${files}')`;
const [t] = await rows(`SELECT count(*) AS n, count(error) AS errors,
  count(*) FILTER (WHERE error IS NULL AND label = split_part(path, '/', -2)) AS correct,
  count(*) FILTER (WHERE error IS NULL AND path LIKE '%/%') AS labelled FROM ${src}`);
console.log(`DuckDB read ${t.n} rows (${t.errors} errors) from ${dir}`);
for (const r of await rows(`SELECT path, label, score, topk_labels[1:3] AS top3 FROM ${src} ORDER BY path LIMIT 3`)) {
  console.log(`  ${r.path}: ${r.label} (${Number(r.score).toFixed(3)}; top 3: ${r.top3.join(", ")})`);
}
if (Number(t.labelled) > 0) {
  console.log(`accuracy: ${(Number(t.correct) / Number(t.labelled)).toFixed(4)} (${t.correct}/${t.labelled}, by DuckDB)`);
}
