// A minimal typed client for orgql: each operation's result and variables
// types come from the generated TypedDocumentNode, and errors carry the
// schema's ErrorCode.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import type { ErrorCode } from './generated/schema.js';

export interface OrgqlError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: ErrorCode; field?: string };
}

/** A GraphQL error from orgql, with its stable `extensions.code`. */
export class OrgqlRequestError extends Error {
  readonly errors: ReadonlyArray<OrgqlError>;

  constructor(errors: ReadonlyArray<OrgqlError>) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }

  /** The code of the first error, for `switch`ing on. */
  get code(): ErrorCode | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8000/graphql. */
  url: string;
  /** An access token or an organization API token. */
  token?: string;
  fetch?: typeof fetch;
}

export function createClient(options: ClientOptions) {
  const doFetch = options.fetch ?? fetch;
  return async function request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
    };
    if (options.token !== undefined) {
      headers.authorization = `Bearer ${options.token}`;
    }
    const response = await doFetch(options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as { data?: TResult | null; errors?: OrgqlError[] };
    if (body.errors !== undefined && body.errors.length > 0) {
      throw new OrgqlRequestError(body.errors);
    }
    if (body.data === undefined || body.data === null) {
      throw new OrgqlRequestError([{ message: `no data (HTTP ${response.status})` }]);
    }
    return body.data;
  };
}
