// Apollo Client's own persisted-queries link against a running server (issue #13, item 3).
//
//   node apollo_apq.mjs http://127.0.0.1:8000/graphql
//
// Runs three queries through ApolloClient + PersistedQueryLink + HttpLink, recording every
// HTTP exchange the link makes, and prints one JSON object: for each step, the requests
// (method, whether they carried the document, the answer's status and error codes) and the
// number of products read. The test asserts the protocol from it. Exits 2 if a query fails.
import { createHash } from 'node:crypto';

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';

const url = process.argv[2];
const exchanges = [];

async function recordingFetch(input, init = {}) {
  const method = (init.method ?? 'GET').toUpperCase();
  const target = new URL(typeof input === 'string' ? input : input.url);
  const sent = method === 'GET' ? Object.fromEntries(target.searchParams) : JSON.parse(init.body);
  const response = await fetch(input, init);
  const body = await response.clone().json().catch(() => null);
  exchanges.push({
    method,
    withQuery: typeof sent.query === 'string',
    hashed: typeof sent.extensions === 'string' ? sent.extensions.includes('sha256Hash')
      : Boolean(sent.extensions?.persistedQuery?.sha256Hash),
    status: response.status,
    contentType: response.headers.get('content-type'),
    codes: (body?.errors ?? []).map((error) => error.extensions?.code),
  });
  return response;
}

function client(useGETForHashedQueries) {
  const persisted = new PersistedQueryLink({
    sha256: (text) => createHash('sha256').update(text).digest('hex'),
    useGETForHashedQueries,
  });
  return new ApolloClient({
    link: ApolloLink.from([persisted, new HttpLink({ uri: url, fetch: recordingFetch })]),
    cache: new InMemoryCache(),
  });
}

const PRODUCTS = gql`query Products { products { sku } }`;
const NAMES = gql`query ProductNames { products { sku name } }`;

async function step(name, apollo, query) {
  exchanges.length = 0;
  const result = await apollo.query({ query, fetchPolicy: 'no-cache' });
  return { name, requests: [...exchanges], products: result.data?.products?.length ?? null };
}

try {
  const steps = [
    await step('post: first use', client(false), PRODUCTS),
    await step('post: known hash', client(false), PRODUCTS),
    await step('get: first use', client(true), NAMES),
    await step('get: known hash', client(true), NAMES),
  ];
  console.log(JSON.stringify(steps));
} catch (error) {
  console.error('a query failed:', error);
  process.exit(2);
}
