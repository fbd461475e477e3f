export {
  ClusterKeyStore,
  type ClusterNodeOptions,
  type ClusterOptions,
  type NodeStatus,
  type Served,
} from "./cluster.ts";
export {
  DEFAULT_MODULE,
  type HsmConfig,
  type HsmNodeConfig,
  type HsmRole,
  type HsmRoleConfig,
  hsmConfigFromEnv,
  parsePinFile,
  roleConfig,
} from "./config.ts";
export * from "./controls.ts";
export { derToRaw, rawToDer } from "./ec.ts";
export { HsmError, type HsmErrorCode } from "./errors.ts";
export {
  type AesGcmSealed,
  defaultSignWorkers,
  type EcdsaSignature,
  type HsmPublicKey,
  type KeyAttributes,
  type KeyInfo,
  type KeyKind,
  KeyStore,
  type KeyStoreOptions,
  type KeyStoreStats,
} from "./keystore.ts";
export { digest, type Signer, signerOver, softwareSigner } from "./signer.ts";
export { createSoftHsmTokens, type TokenPins } from "./softhsm.ts";
export { formatPkcs11Uri, type KeyRef, type Pkcs11Uri, parsePkcs11Uri } from "./uri.ts";
