import { clause, defineControl } from "@iaca/policy";

/** Everything under the data directory is readable by its owner only; `iaca status` reports anything more open. */
export const DATA_DIR_PRIVATE = defineControl({
  id: "cli.data-dir.private",
  clause: clause("6.5.1"),
  summary:
    "データディレクトリ ($IACA_DATA_DIR、既定 ./var) の下に作成するディレクトリ及びファイルは所有者のみが読み書きできる (0700 / 0600) ものとし、iaca status はそれより緩いものを ERROR として修正コマンドとともに報告する。",
});
