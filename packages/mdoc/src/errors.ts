import { IacaError } from "@iaca/policy";

/**
 * Errors of the mdoc package. Codes are stable; messages name elements and rules only and
 * never echo a personal value (control mdoc.no-pii-in-errors).
 *
 * - MDOC_INPUT_INVALID: issuance input fails a profile rule (details.element, details.rule).
 * - MDOC_PROFILE_INVALID: a doctype profile (data) is inconsistent.
 * - MDOC_NO_DS_CERTIFICATE / MDOC_DS_KEY_STATE / MDOC_DS_REVOKED: signing refused.
 * - MDOC_ENCODING, MDOC_CBOR_MALFORMED, MDOC_FORMAT: encoding / parsing / structure.
 * - MDOC_DEVICE_KEY_INVALID: the holder's device key is not a supported public key.
 * - MDOC_STATUS_LIST: a status list or Status List Token is malformed (bits, lst, typ, claims, index).
 */
export class MdocError extends IacaError {}
