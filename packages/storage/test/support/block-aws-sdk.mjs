// Preloaded with `node --import`: makes every `@aws-sdk/*` import fail, as if the optional SDK were
// not installed. Used by lazy-sdk.test.ts.
import { register } from "node:module";

register("./block-aws-sdk-hooks.mjs", import.meta.url);
