import { IacaError } from "@iaca/policy";
import pkcs11js from "pkcs11js";

/** Stable codes of {@link HsmError}; callers match on these, never on messages. */
export type HsmErrorCode =
  | "HSM_CONFIG_INVALID"
  | "HSM_PIN_MISSING"
  | "HSM_PIN_INCORRECT"
  | "HSM_PIN_LOCKED"
  | "HSM_PIN_EXPIRED"
  | "HSM_MODULE_LOAD_FAILED"
  | "HSM_TOKEN_NOT_FOUND"
  | "HSM_TOKEN_MISMATCH"
  | "HSM_KEY_NOT_FOUND"
  | "HSM_KEY_EXISTS"
  | "HSM_KEY_TYPE_MISMATCH"
  | "HSM_KEY_NOT_EXTRACTABLE"
  | "HSM_MECHANISM_UNSUPPORTED"
  | "HSM_DECRYPT_FAILED"
  | "HSM_INVALID_INPUT"
  | "HSM_URI_INVALID"
  | "HSM_UNAVAILABLE"
  | "HSM_CLOSED"
  | "HSM_OPERATION_FAILED";

export class HsmError extends IacaError {
  declare readonly code: HsmErrorCode;
  constructor(code: HsmErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(code, message, details, options);
  }
}

/** The CKR_* code of a pkcs11js error, or undefined for anything else. */
export function ckr(e: unknown): number | undefined {
  if (e instanceof pkcs11js.Pkcs11Error) return e.code;
  return undefined;
}

export function ckrName(code: number): string {
  const names = pkcs11js as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(names)) if (k.startsWith("CKR_") && v === code) return k;
  return `CKR_0x${code.toString(16)}`;
}

/** Session is gone (closed underneath, token removed, device reset): re-open and retry. */
export const SESSION_LOST = new Set<number>([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_SESSION_COUNT,
]);

/** Errors after which the slot must be looked up again (the token may have moved). */
export const DEVICE_LOST = new Set<number>([
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_SLOT_ID_INVALID,
]);

const MAP: Array<[number[], HsmErrorCode]> = [
  [[pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE], "HSM_PIN_INCORRECT"],
  [[pkcs11js.CKR_PIN_LOCKED], "HSM_PIN_LOCKED"],
  [[pkcs11js.CKR_PIN_EXPIRED], "HSM_PIN_EXPIRED"],
  [
    [pkcs11js.CKR_MECHANISM_INVALID, pkcs11js.CKR_MECHANISM_PARAM_INVALID, pkcs11js.CKR_DOMAIN_PARAMS_INVALID],
    "HSM_MECHANISM_UNSUPPORTED",
  ],
  [[pkcs11js.CKR_OBJECT_HANDLE_INVALID, pkcs11js.CKR_KEY_HANDLE_INVALID], "HSM_KEY_NOT_FOUND"],
  [
    [
      pkcs11js.CKR_KEY_TYPE_INCONSISTENT,
      pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED,
      pkcs11js.CKR_KEY_SIZE_RANGE,
      pkcs11js.CKR_KEY_UNEXTRACTABLE,
    ],
    "HSM_KEY_TYPE_MISMATCH",
  ],
  [[pkcs11js.CKR_ATTRIBUTE_SENSITIVE], "HSM_KEY_NOT_EXTRACTABLE"],
  [
    [pkcs11js.CKR_ENCRYPTED_DATA_INVALID, pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE, pkcs11js.CKR_SIGNATURE_INVALID],
    "HSM_DECRYPT_FAILED",
  ],
  [[pkcs11js.CKR_DATA_LEN_RANGE, pkcs11js.CKR_DATA_INVALID, pkcs11js.CKR_ARGUMENTS_BAD], "HSM_INVALID_INPUT"],
  [
    [
      ...SESSION_LOST,
      pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
      pkcs11js.CKR_DEVICE_MEMORY,
      pkcs11js.CKR_HOST_MEMORY,
      pkcs11js.CKR_USER_NOT_LOGGED_IN,
      pkcs11js.CKR_SLOT_ID_INVALID,
    ],
    "HSM_UNAVAILABLE",
  ],
];

/** Wraps any error from a PKCS#11 call into an {@link HsmError} with a stable code. */
export function toHsmError(e: unknown, operation: string, details: Record<string, unknown> = {}): HsmError {
  if (e instanceof HsmError) return e;
  const code = ckr(e);
  if (code === undefined) {
    return new HsmError("HSM_OPERATION_FAILED", `${operation} failed: ${(e as Error)?.message ?? e}`, details, {
      cause: e,
    });
  }
  const name = ckrName(code);
  const hsmCode = MAP.find(([codes]) => codes.includes(code))?.[1] ?? "HSM_OPERATION_FAILED";
  return new HsmError(hsmCode, `${operation} failed: ${name}`, { ...details, ckr: name }, { cause: e });
}
