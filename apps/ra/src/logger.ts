import pino, { type DestinationStream, type Logger } from "pino";
import { NO_PII_IN_LOGS } from "./controls.ts";

/**
 * Paths pino removes from every log line: request bodies, holder data and anything that could
 * carry an element value. Handlers never log bodies; this is the second line of defence.
 */
export const REDACT_PATHS = [
  "body",
  "req.body",
  "request.body",
  "holder",
  "*.holder",
  "myNumber",
  "*.myNumber",
  "my_number",
  "*.my_number",
  "issuerSigned",
  "*.issuerSigned",
  "proofs",
  "*.proofs",
  "portrait",
  "*.portrait",
  "req.headers.authorization",
  "req.headers.cookie",
  "err.details",
  "details",
];

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream } = {}): Logger {
  void NO_PII_IN_LOGS; // REDACT_PATHS below: bodies and holder data never reach a log line
  return pino(
    {
      name: opts.name ?? "iaca",
      level: opts.level ?? process.env.IACA_LOG_LEVEL ?? "info",
      redact: { paths: REDACT_PATHS, remove: true },
      serializers: {
        req: (req: { id?: string; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          // the path only: no query string
          url: req.url?.split("?")[0],
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: (e: { name?: string; code?: string; message?: string }) => ({
          type: e?.name,
          code: e?.code,
          message: e?.message,
        }),
      },
    },
    opts.destination,
  );
}
