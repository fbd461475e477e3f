import type { SignatureCheck } from "./proof-workers.ts";

export declare function checkSignatures(items: SignatureCheck[]): boolean[];
