// A GraphQL subscriber for orgql's tests, with the graphql-ws library (the
// client Apollo Client, urql and GraphiQL use), not a hand-written one.
//
// Environment: URL (ws://host:port/graphql), TOKEN (sent in
// connection_init as {"Authorization": "Bearer <TOKEN>"}), QUERY and
// VARIABLES (JSON); HEADERS (JSON, on the upgrade request: an
// X-Forwarded-For through a trusted proxy, say); REPEAT (default 1) subscribes that many times on the
// one socket, each line then carrying its subscription's index as `n`. Writes one JSON line per happening to stdout:
// {"connected":true}, {"next":<result>}, {"error":...},
// {"complete":true}, {"closed":{"code":..,"reason":".."}}. Exits when
// stdin closes (the test dropped it) or once the socket is closed.

import { createClient } from "graphql-ws";
import WebSocket from "ws";

const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

const headers = JSON.parse(process.env.HEADERS || "{}");
class WithHeaders extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols, { headers });
  }
}

const client = createClient({
  url: process.env.URL,
  webSocketImpl: WithHeaders,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${process.env.TOKEN}` },
  on: {
    connected: () => print({ connected: true }),
    closed: (event) => {
      print({ closed: { code: event?.code ?? null, reason: String(event?.reason ?? "") } });
      process.exit(0);
    },
  },
});

const repeat = Number(process.env.REPEAT || "1");
for (let n = 0; n < repeat; n++) {
  const tag = repeat > 1 ? { n } : {};
  client.subscribe(
    { query: process.env.QUERY, variables: JSON.parse(process.env.VARIABLES || "{}") },
    {
      next: (result) => print({ next: result, ...tag }),
      error: (error) => {
        if (Array.isArray(error)) print({ error: error, ...tag });
        else if (error && typeof error === "object" && "code" in error)
          print({ closed: { code: error.code, reason: String(error.reason ?? "") } });
        else print({ error: String(error), ...tag });
      },
      complete: () => print({ complete: true, ...tag }),
    },
  );
}

process.stdin.on("end", () => {
  client.dispose();
  process.exit(0);
});
process.stdin.resume();
