// The GraphQL-over-HTTP audit of `graphql-http` against a running server (issue #13, item 2).
//
//   node audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one line per audit (its status, id and name, and for a failure the reason and the
// response), then a summary line `ok=N notice=N warn=N error=N`. Exits 1 on any warning or
// error (a failed SHOULD or MUST), 2 when the audit itself cannot run.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <url of the GraphQL endpoint>');
  process.exit(2);
}

async function describe(response) {
  if (!response) return '';
  let body = '';
  try {
    body = (await response.clone().text()).slice(0, 300);
  } catch {
    body = '<unreadable body>';
  }
  return ` -> HTTP ${response.status} ${response.headers.get('content-type') ?? ''} ${body}`;
}

try {
  const results = await auditServer({ url });
  const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
  for (const result of results) {
    counts[result.status] += 1;
    const line = `${result.status.toUpperCase().padEnd(6)} ${result.id} ${result.name}`;
    console.log(result.status === 'ok' ? line : `${line}: ${result.reason}${await describe(result.response)}`);
  }
  console.log(`ok=${counts.ok} notice=${counts.notice} warn=${counts.warn} error=${counts.error}`);
  process.exit(counts.warn + counts.error > 0 ? 1 : 0);
} catch (error) {
  console.error('the audit could not run:', error);
  process.exit(2);
}
